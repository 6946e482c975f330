package io.wharf.server.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.MissingNode;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import picocli.CommandLine.Option;

/**
 * Options and HTTP calls shared by the commands that talk to a running Wharf's admin API
 * ({@code prefetch}, {@code pin}, {@code purge}, {@code gc}). A picocli mixin.
 */
final class AdminClient {
  static final String DEFAULT_URL = "http://127.0.0.1:5001";
  private static final ObjectMapper JSON = new ObjectMapper();

  @Option(names = "--admin-url", paramLabel = "URL",
      description = "The admin listener of the Wharf to talk to (admin.listen in its config);"
          + " default: $WHARF_ADMIN_URL or " + DEFAULT_URL + ".")
  String adminUrl;

  @Option(names = "--token", paramLabel = "TOKEN",
      description = "Admin Bearer token (admin.token); default: $WHARF_ADMIN_TOKEN. Prefer"
          + " --token-file: a token on the command line shows in the process list.")
  String token;

  @Option(names = "--token-file", paramLabel = "FILE",
      description = "File holding the admin token (surrounding whitespace ignored).")
  Path tokenFile;

  private HttpClient http;

  /** A response: status and parsed JSON body (a missing node when it was not JSON). */
  record Reply(int status, JsonNode body) {
    /** The error messages of an error body, joined; or the status. */
    String errorText() {
      StringBuilder sb = new StringBuilder();
      for (JsonNode e : body.path("errors")) {
        sb.append(sb.length() == 0 ? "" : "; ").append(e.path("message").asText());
      }
      return sb.length() == 0 ? "HTTP " + status : sb.toString();
    }
  }

  /** Thrown when the admin API cannot be reached or the token cannot be read. */
  static final class AdminUnreachableException extends Exception {
    private static final long serialVersionUID = 1L;

    AdminUnreachableException(String message, Throwable cause) {
      super(message, cause);
    }
  }

  Reply send(String method, String path, Object body) throws AdminUnreachableException {
    String base = adminUrl != null ? adminUrl
        : System.getenv().getOrDefault("WHARF_ADMIN_URL", DEFAULT_URL);
    base = base.endsWith("/") ? base.substring(0, base.length() - 1) : base;
    URI uri;
    try {
      uri = URI.create(base + path);
    } catch (IllegalArgumentException e) {
      throw new AdminUnreachableException("invalid --admin-url " + base + ": " + e.getMessage(), e);
    }
    try {
      HttpRequest.Builder b = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(60));
      if (body == null) {
        b.method(method, HttpRequest.BodyPublishers.noBody());
      } else {
        b.header("Content-Type", "application/json")
            .method(method, HttpRequest.BodyPublishers.ofByteArray(JSON.writeValueAsBytes(body)));
      }
      String t = token();
      if (t != null) {
        b.header("Authorization", "Bearer " + t);
      }
      if (http == null) {
        http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(10)).build();
      }
      HttpResponse<byte[]> r = http.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
      JsonNode j;
      try {
        j = r.body().length == 0 ? MissingNode.getInstance() : JSON.readTree(r.body());
      } catch (IOException e) {
        j = MissingNode.getInstance();
      }
      return new Reply(r.statusCode(), j);
    } catch (IOException e) {
      throw new AdminUnreachableException("cannot reach the admin API at " + base + " ("
          + e + "); is admin.listen configured and is Wharf running?", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AdminUnreachableException("interrupted", e);
    }
  }

  private String token() throws AdminUnreachableException {
    if (token != null) {
      return token;
    }
    if (tokenFile != null) {
      try {
        return Files.readString(tokenFile, StandardCharsets.UTF_8).strip();
      } catch (IOException e) {
        throw new AdminUnreachableException("cannot read --token-file " + tokenFile + ": " + e, e);
      }
    }
    return System.getenv("WHARF_ADMIN_TOKEN");
  }

  static String pretty(JsonNode n) {
    try {
      return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(n);
    } catch (IOException e) {
      return n.toString();
    }
  }
}
