package io.wharf.server.testing;

import io.wharf.core.oci.Digest;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.concurrent.CompletableFuture;

/** A registry client for tests: JDK HttpClient over HTTP/1.1. */
public final class TestClient {
  private final HttpClient http =
      HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
          .connectTimeout(Duration.ofSeconds(5)).build();
  private final String base;

  public TestClient(int port) {
    this.base = "http://127.0.0.1:" + port;
  }

  public HttpResponse<byte[]> get(String path, String... headers) throws Exception {
    return http.send(request("GET", path, headers), HttpResponse.BodyHandlers.ofByteArray());
  }

  public HttpResponse<byte[]> head(String path, String... headers) throws Exception {
    return http.send(request("HEAD", path, headers), HttpResponse.BodyHandlers.ofByteArray());
  }

  public HttpResponse<byte[]> send(String method, String path, String... headers) throws Exception {
    return http.send(request(method, path, headers), HttpResponse.BodyHandlers.ofByteArray());
  }

  public HttpResponse<InputStream> stream(String path, String... headers) throws Exception {
    return http.send(request("GET", path, headers), HttpResponse.BodyHandlers.ofInputStream());
  }

  /** GET whose body is hashed as it streams (no whole-body buffering); result is the digest. */
  public CompletableFuture<Result> getHashed(String path) {
    return http.sendAsync(request("GET", path), HttpResponse.BodyHandlers.ofInputStream())
        .thenApply(r -> {
          try (InputStream in = r.body()) {
            MessageDigest md = Digest.newSha256();
            byte[] buf = new byte[64 * 1024];
            long n = 0;
            for (int k = in.read(buf); k >= 0; k = in.read(buf)) {
              md.update(buf, 0, k);
              n += k;
            }
            return new Result(r.statusCode(), n, "sha256:" + HexFormat.of().formatHex(md.digest()), null);
          } catch (IOException e) {
            return new Result(r.statusCode(), -1, null, e);
          }
        });
  }

  /** Sends {@code GET target} verbatim over a raw socket (for targets URI refuses); the status. */
  public int rawStatus(String target) throws IOException {
    int port = Integer.parseInt(base.substring(base.lastIndexOf(':') + 1));
    try (java.net.Socket s = new java.net.Socket("127.0.0.1", port)) {
      s.setSoTimeout(10_000);
      s.getOutputStream().write(("GET " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
          .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
      String line = new String(s.getInputStream().readNBytes(12), java.nio.charset.StandardCharsets.US_ASCII);
      return Integer.parseInt(line.substring(9, 12));
    }
  }

  /** Status, bytes read, sha256 of what was read, or the I/O error that cut it. */
  public record Result(int status, long bytes, String digest, IOException error) {}

  private HttpRequest request(String method, String path, String... headers) {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path))
        .timeout(Duration.ofSeconds(60))
        .method(method, HttpRequest.BodyPublishers.noBody());
    for (int i = 0; i + 1 < headers.length; i += 2) {
      b.header(headers[i], headers[i + 1]);
    }
    return b.build();
  }
}
