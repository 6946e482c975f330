package io.wharf.core.upstream;

import io.wharf.core.metrics.WharfMeters;
import io.wharf.core.upstream.UpstreamException.Kind;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.UnknownHostException;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.channels.UnresolvedAddressException;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sends one logical request over the JDK client and follows redirects itself.
 *
 * <p>Why redirects are ours: registries answer blob GETs with a 307 to object storage (S3, GCS,
 * Azure) whose presigned URL is its own credential. The JDK would replay our {@code Authorization}
 * there; S3 then refuses the request (two auth mechanisms), and worse, the registry's token would
 * leak to another host. So {@code Authorization} goes only to {@code authOrigin} (scheme, host and
 * port), every other header travels along, and at most {@value #MAX_REDIRECTS} hops are followed.
 *
 * <p>Every HTTP request this class sends is counted exactly once in {@code
 * wharf.upstream.requests}: redirects and transport failures here, final responses by the caller
 * (which alone knows whether a 401 was a challenge, a denial or rejected credentials).
 */
final class Transport {

  static final int MAX_REDIRECTS = 5;

  private static final Logger log = LoggerFactory.getLogger(Transport.class);

  private final HttpClient http;
  private final Duration requestTimeout;
  private final String userAgent;
  private final WharfMeters meters;
  private final String upstream;
  private final java.util.function.Consumer<java.net.http.HttpHeaders> onResponse;

  Transport(HttpClient http, Duration requestTimeout, String userAgent, WharfMeters meters, String upstream) {
    this(http, requestTimeout, userAgent, meters, upstream, h -> { });
  }

  /** With a hook that sees the headers of every final response from the registry's origin. */
  Transport(HttpClient http, Duration requestTimeout, String userAgent, WharfMeters meters, String upstream,
      java.util.function.Consumer<java.net.http.HttpHeaders> onResponse) {
    this.http = http;
    this.requestTimeout = requestTimeout;
    this.userAgent = userAgent;
    this.meters = meters;
    this.upstream = upstream;
    this.onResponse = onResponse;
  }

  /** A final (non-redirect) response and where it came from. */
  record Sent<T>(HttpResponse<T> response, URI uri, boolean atAuthOrigin) {
    int status() {
      return response.statusCode();
    }

    String header(String name) {
      return response.headers().firstValue(name).orElse(null);
    }
  }

  /**
   * Sends {@code method uri}, following redirects, and completes with the first non-redirect
   * response, or exceptionally with an {@link UpstreamFailure}.
   *
   * @param authorization the {@code Authorization} value for {@code authOrigin}, or null
   */
  <T> CompletableFuture<Sent<T>> send(
      String kind,
      String method,
      URI uri,
      Map<String, String> headers,
      String authorization,
      URI authOrigin,
      HttpResponse.BodyHandler<T> handler) {
    return hop(kind, method, uri, headers, authorization, authOrigin, handler, 0);
  }

  private <T> CompletableFuture<Sent<T>> hop(
      String kind,
      String method,
      URI uri,
      Map<String, String> headers,
      String authorization,
      URI authOrigin,
      HttpResponse.BodyHandler<T> handler,
      int hops) {
    boolean atOrigin = sameOrigin(uri, authOrigin);
    HttpRequest request = build(method, uri, headers, atOrigin ? authorization : null);
    // Redirect bodies are drained and dropped, so the connection goes back to the pool.
    HttpResponse.BodyHandler<T> h =
        info -> isFollowable(info.statusCode(), info.headers().firstValue("location").isPresent())
            ? HttpResponse.BodySubscribers.replacing(null)
            : handler.apply(info);
    if (log.isDebugEnabled()) {
      log.debug("{} {} {}{} (hop {}, auth {})", upstream, method, uri.getScheme() + "://" + uri.getRawAuthority(),
          uri.getRawPath(), hops, atOrigin && authorization != null ? "yes" : "no");
    }
    CompletableFuture<HttpResponse<T>> sent;
    try {
      sent = http.sendAsync(request, h);
    } catch (RuntimeException e) {
      sent = CompletableFuture.failedFuture(e);
    }
    return sent.handle(
            (resp, err) -> {
              if (err != null) {
                UpstreamFailure f = fromThrowable(err, requestTimeout);
                record(kind, f.meterResult());
                throw f;
              }
              return resp;
            })
        .thenCompose(
            resp -> {
              int s = resp.statusCode();
              String location = resp.headers().firstValue("location").orElse(null);
              if (!isFollowable(s, location != null)) {
                if (atOrigin) {
                  onResponse.accept(resp.headers());
                }
                return CompletableFuture.completedFuture(new Sent<>(resp, uri, atOrigin));
              }
              record(kind, "redirect");
              if (hops >= MAX_REDIRECTS) {
                throw new UpstreamFailure(
                    Kind.BAD_RESPONSE,
                    "more than " + MAX_REDIRECTS + " redirects (last from " + uri.getHost() + ")",
                    s, -1, null);
              }
              URI next;
              try {
                next = uri.resolve(location.strip());
              } catch (IllegalArgumentException e) {
                throw new UpstreamFailure(
                    Kind.BAD_RESPONSE, "redirect " + s + " to an invalid Location", s, -1, null);
              }
              String scheme = next.getScheme() == null ? "" : next.getScheme().toLowerCase(Locale.ROOT);
              if (!(scheme.equals("http") || scheme.equals("https")) || next.getHost() == null) {
                throw new UpstreamFailure(
                    Kind.BAD_RESPONSE, "redirect " + s + " to a non-http(s) Location", s, -1, null);
              }
              String nextMethod = s == 303 && !method.equals("HEAD") ? "GET" : method;
              return hop(kind, nextMethod, next, headers, authorization, authOrigin, handler, hops + 1);
            });
  }

  /** Counts one request's outcome. */
  void record(String kind, String result) {
    meters.upstreamRequest(upstream, kind, result);
  }

  private HttpRequest build(String method, URI uri, Map<String, String> headers, String authorization) {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(uri)
            .timeout(requestTimeout)
            .header("User-Agent", userAgent)
            // Blobs must arrive as the identity bytes their digest names.
            .header("Accept-Encoding", "identity")
            .method(method, HttpRequest.BodyPublishers.noBody());
    if ("http".equalsIgnoreCase(uri.getScheme())) {
      // Otherwise the JDK client tries an h2c upgrade, which some servers and proxies mishandle.
      b.version(HttpClient.Version.HTTP_1_1);
    }
    headers.forEach(b::header);
    if (authorization != null) {
      b.header("Authorization", authorization);
    }
    return b.build();
  }

  static boolean isFollowable(int status, boolean hasLocation) {
    return hasLocation
        && (status == 301 || status == 302 || status == 303 || status == 307 || status == 308);
  }

  /** Same scheme, host and port (default ports made explicit). */
  static boolean sameOrigin(URI a, URI b) {
    if (a == null || b == null || a.getScheme() == null || b.getScheme() == null || a.getHost() == null
        || b.getHost() == null) {
      return false;
    }
    return a.getScheme().equalsIgnoreCase(b.getScheme())
        && a.getHost().equalsIgnoreCase(b.getHost())
        && port(a) == port(b);
  }

  private static int port(URI u) {
    if (u.getPort() != -1) {
      return u.getPort();
    }
    return "https".equalsIgnoreCase(u.getScheme()) ? 443 : 80;
  }

  /** Maps what the JDK client threw to a failure kind; passes {@link UpstreamFailure} through. */
  static UpstreamFailure fromThrowable(Throwable t, Duration requestTimeout) {
    Throwable c = t;
    while ((c instanceof CompletionException || c instanceof ExecutionException) && c.getCause() != null) {
      c = c.getCause();
    }
    for (Throwable x = c; x != null; x = x.getCause()) {
      if (x instanceof UpstreamFailure f) {
        return f;
      }
    }
    if (c instanceof HttpConnectTimeoutException) {
      return new UpstreamFailure(Kind.UNREACHABLE, "connect timed out", 0, -1, c);
    }
    if (c instanceof HttpTimeoutException) {
      return new UpstreamFailure(
          Kind.TIMEOUT, "no response headers within " + requestTimeout.toMillis() + " ms", 0, -1, c);
    }
    for (Throwable x = c; x != null; x = x.getCause()) {
      // The JDK wraps a DNS failure in a ConnectException: look for it first.
      if (x instanceof UnresolvedAddressException || x instanceof UnknownHostException) {
        return new UpstreamFailure(Kind.UNREACHABLE, "cannot resolve the host name (DNS)", 0, -1, c);
      }
    }
    if (c instanceof ConnectException) {
      return new UpstreamFailure(Kind.UNREACHABLE, "connection refused or failed", 0, -1, c);
    }
    if (c instanceof SSLException) {
      for (Throwable x = c; x != null; x = x.getCause()) {
        if (x instanceof java.security.cert.CertificateException) {
          return new UpstreamFailure(Kind.UNREACHABLE, "TLS failure: the upstream's certificate is"
              + " not trusted (" + x.getMessage() + "); add its CA with tls.caBundle", 0, -1, c);
        }
      }
      return new UpstreamFailure(Kind.UNREACHABLE, "TLS failure: " + c.getMessage(), 0, -1, c);
    }
    if (c instanceof IOException) {
      return new UpstreamFailure(Kind.UNREACHABLE, "connection failed: " + c, 0, -1, c);
    }
    return new UpstreamFailure(Kind.BAD_RESPONSE, "unexpected failure: " + c, 0, -1, c);
  }
}
