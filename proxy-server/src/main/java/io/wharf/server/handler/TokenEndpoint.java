package io.wharf.server.handler;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.wharf.core.access.AccessControl;
import io.wharf.core.oci.ErrorCode;
import io.wharf.server.Services;
import io.wharf.server.http.OciErrors;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Wharf's token endpoint, {@code /token/<upstream>} (Docker token authentication): {@code GET}
 * with Basic credentials and {@code scope=repository:<name>:pull} as docker sends it, and the
 * OAuth2 {@code POST} form ({@code grant_type=password}, username, password, scope) that
 * containerd sends. The upstream is in the path because the realm is the only thing every client
 * echoes back (containerd's scope has no {@code ns}). Not a ChannelHandler: {@link
 * RegistryHandler} hands it a request (and a POST's small body) and sends what it returns.
 */
final class TokenEndpoint {
  private static final Logger log = LoggerFactory.getLogger(TokenEndpoint.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  static final String PATH = "/token/";
  /** Largest POST form accepted. */
  static final int MAX_BODY = 8 * 1024;
  private static final Pattern HOST = Pattern.compile("[A-Za-z0-9.\\-]+(:[0-9]{1,5})?|\\[[0-9A-Fa-f:.]+\\](:[0-9]{1,5})?");

  private final Services services;

  TokenEndpoint(Services services) {
    this.services = services;
  }

  static boolean matches(String uri) {
    return uri.startsWith(PATH);
  }

  /** The realm clients fetch tokens for {@code upstream} from. */
  static String realm(Services services, HttpRequest req, String upstream) {
    String base = services.config().externalUrl();
    if (base == null) {
      String host = req.headers().get(HttpHeaderNames.HOST);
      base = host != null && HOST.matcher(host).matches()
          ? (services.config().server().tls() != null ? "https://" : "http://") + host
          : services.config().effectiveExternalUrl();
    }
    return base.replaceAll("/+$", "") + PATH + upstream;
  }

  /** The Bearer challenge for {@code upstream}, with the pull scope of {@code repository} if any. */
  static String challenge(Services services, HttpRequest req, String upstream, String repository) {
    return "Bearer realm=\"" + realm(services, req, upstream) + "\",service=\"wharf\""
        + (repository == null ? "" : ",scope=\"repository:" + repository + ":pull\"");
  }

  CompletableFuture<FullHttpResponse> handle(HttpRequest req, byte[] body, InetAddress client) {
    QueryStringDecoder q = new QueryStringDecoder(req.uri());
    String upstream = q.path().substring(PATH.length());
    boolean post = req.method().equals(HttpMethod.POST);
    if (!post && !req.method().equals(HttpMethod.GET)) {
      return done(OciErrors.response(ErrorCode.UNSUPPORTED, 405,
          "the token endpoint answers GET and POST", false));
    }
    List<String> scopes = new ArrayList<>(q.parameters().getOrDefault("scope", List.of()));
    String authorization = req.headers().get(HttpHeaderNames.AUTHORIZATION);
    if (post) {
      if (body == null) {
        return done(oauthError(400, "invalid_request", "form body missing or over "
            + MAX_BODY + " bytes"));
      }
      Map<String, List<String>> form = new QueryStringDecoder(
          new String(body, StandardCharsets.UTF_8), StandardCharsets.UTF_8, false).parameters();
      String grant = first(form, "grant_type");
      if (!"password".equals(grant)) {
        return done(oauthError(400, "unsupported_grant_type",
            "only grant_type=password is supported"));
      }
      String user = first(form, "username");
      String password = first(form, "password");
      if (user == null || password == null) {
        return done(oauthError(400, "invalid_request", "username and password are required"));
      }
      authorization = "Basic " + Base64.getEncoder().encodeToString(
          (user + ":" + password).getBytes(StandardCharsets.UTF_8));
      scopes.addAll(form.getOrDefault("scope", List.of()));
    }
    AccessControl access = services.access();
    if (!access.usesBearer(upstream)) {
      return done(OciErrors.response(ErrorCode.NAME_UNKNOWN, 404,
          "no upstream named '" + upstream + "' issues Bearer tokens", false));
    }
    return access.issue(upstream, client, authorization, scopes).thenApply(issued -> {
      AccessControl.Decision d = issued.decision();
      if (issued.token() == null) {
        log.info("token refused to {}{} for upstream {}: {}", client.getHostAddress(),
            d.user() == null ? "" : " (user " + io.wharf.server.http.LogSafe.text(d.user()) + ")",
            upstream, d.reason());
        if (d.outcome() == AccessControl.Outcome.FORBIDDEN) {
          return OciErrors.response(ErrorCode.DENIED, 403, "access denied: " + d.reason(), false);
        }
        if (d.outcome() == AccessControl.Outcome.BUSY) {
          FullHttpResponse busy = OciErrors.response(ErrorCode.UNAVAILABLE, 503,
              "authentication is busy; retry shortly", false);
          busy.headers().set(HttpHeaderNames.RETRY_AFTER, 1);
          return busy;
        }
        FullHttpResponse r = post
            ? oauthError(401, "invalid_grant", "wrong user or password")
            : OciErrors.response(ErrorCode.UNAUTHORIZED, 401, "authentication required", false);
        r.headers().set(HttpHeaderNames.WWW_AUTHENTICATE,
            "Basic realm=\"" + AccessControl.realm(upstream) + "\", charset=\"UTF-8\"");
        return r;
      }
      ObjectNode o = JSON.createObjectNode();
      o.put("token", issued.token());
      o.put("access_token", issued.token());
      o.put("expires_in", issued.expiresIn());
      o.put("issued_at", Instant.ofEpochMilli(System.currentTimeMillis()).toString());
      return json(200, o);
    });
  }

  private static String first(Map<String, List<String>> m, String key) {
    List<String> v = m.get(key);
    return v == null || v.isEmpty() ? null : v.get(0);
  }

  private static CompletableFuture<FullHttpResponse> done(FullHttpResponse r) {
    return CompletableFuture.completedFuture(r);
  }

  private static FullHttpResponse oauthError(int status, String error, String description) {
    ObjectNode o = JSON.createObjectNode();
    o.put("error", error);
    o.put("error_description", description);
    return json(status, o);
  }

  private static FullHttpResponse json(int status, ObjectNode o) {
    byte[] b;
    try {
      b = JSON.writeValueAsBytes(o);
    } catch (java.io.IOException e) {
      throw new IllegalStateException(e);
    }
    DefaultFullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
        HttpResponseStatus.valueOf(status), Unpooled.wrappedBuffer(b));
    r.headers()
        .set(HttpHeaderNames.CONTENT_TYPE, "application/json")
        .set(HttpHeaderNames.CONTENT_LENGTH, b.length)
        .set(HttpHeaderNames.CACHE_CONTROL, "no-store");
    return r;
  }
}
