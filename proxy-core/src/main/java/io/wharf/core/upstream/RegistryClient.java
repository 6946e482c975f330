package io.wharf.core.upstream;

import com.github.benmanes.caffeine.cache.Ticker;
import io.wharf.core.config.Credentials;
import io.wharf.core.config.UpstreamConfig;
import io.wharf.core.metrics.WharfMeters;
import io.wharf.core.oci.Digest;
import io.wharf.core.oci.ErrorCode;
import io.wharf.core.oci.InvalidReferenceException;
import io.wharf.core.oci.MediaTypes;
import io.wharf.core.oci.Reference;
import io.wharf.core.oci.RepositoryName;
import io.wharf.core.upstream.UpstreamException.Kind;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpHeaders;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.Flow;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * HTTP client for one upstream registry. Repository names given to it are already the upstream's
 * own (Docker Hub's {@code library/} added by the router). All methods are non-blocking and
 * complete exceptionally with {@link UpstreamException}.
 *
 * <p>Layers: {@link Transport} sends and follows redirects (Authorization only to the registry's
 * origin); {@link RegistryAuth} picks credentials and answers challenges, with tokens from {@link
 * TokenCache}; this class builds each operation's request and maps the final status to a result
 * or an {@link UpstreamException} whose message names the action and the upstream. This class does
 * not log failures: the server logs once, at its boundary.
 */
public final class RegistryClient implements AutoCloseable {

  private static final Pattern CONTENT_RANGE = Pattern.compile("bytes\\s+(\\d+)-(\\d+)/(\\d+|\\*)");

  private final UpstreamConfig config;
  private final String upstream;
  private final String base;
  private final Transport transport;
  private final TokenCache tokens;
  private final RegistryAuth auth;
  private final WharfMeters meters;
  private final Clock clock;
  private final Executor executor;
  private final UplinkGuard guard;
  private final ClientPullCheck pullCheck;

  /** What the registry said about a client's own credentials for a repository. */
  public enum PullCheck {
    ALLOWED,
    DENIED,
    NOT_FOUND
  }

  public RegistryClient(UpstreamConfig config, Map<String, String> env, Executor executor, WharfMeters meters) {
    this(config, env, executor, meters, null, Ticker.systemTicker(), Clock.systemUTC());
  }

  /**
   * For tests and embedding: an own {@link HttpClient} (null builds the standard one) and injected
   * time sources (the ticker drives token expiry, the clock reads HTTP dates).
   */
  RegistryClient(
      UpstreamConfig config,
      Map<String, String> env,
      Executor executor,
      WharfMeters meters,
      HttpClient httpClient,
      Ticker ticker,
      Clock clock) {
    this.config = config.withDefaults();
    this.upstream = this.config.name();
    this.base = this.config.url();
    this.meters = meters;
    this.clock = clock;
    this.executor = executor;
    Credentials.Resolved creds = this.config.credentials().resolve(env);
    HttpClient http = httpClient != null ? httpClient : buildHttpClient(this.config, env, executor);
    this.guard = new UplinkGuard(this.config, executor, System::nanoTime, meters);
    this.transport = new Transport(http, this.config.requestTimeout(), userAgent(), meters, upstream,
        guard::observe);
    this.tokens = new TokenCache(transport, creds, upstream, meters, executor, ticker, clock);
    this.auth = new RegistryAuth(transport, tokens, creds, this.config.baseUri(), upstream);
    this.pullCheck = new ClientPullCheck(transport, this.config.baseUri(), clock);
  }

  static HttpClient buildHttpClient(UpstreamConfig config, Map<String, String> env, Executor executor) {
    HttpClient.Builder b =
        HttpClient.newBuilder()
            .followRedirects(HttpClient.Redirect.NEVER) // see Transport: Authorization must not cross hosts
            .connectTimeout(config.connectTimeout())
            .executor(executor);
    EnvProxySelector proxies = EnvProxySelector.fromEnv(env);
    b.proxy(proxies != null ? proxies : HttpClient.Builder.NO_PROXY);
    if ("http".equalsIgnoreCase(config.baseUri().getScheme())) {
      b.version(HttpClient.Version.HTTP_1_1);
    }
    javax.net.ssl.SSLContext tls = UpstreamTls.context(config.name(), config.tls());
    if (tls != null) {
      b.sslContext(tls);
    }
    return b.build();
  }

  static String userAgent() {
    String v = RegistryClient.class.getPackage().getImplementationVersion();
    return "wharf/" + (v == null ? "dev" : v);
  }

  public UpstreamConfig config() {
    return config;
  }

  /**
   * GET a manifest. {@code accept} null or blank asks for all four manifest types. A body over 4 MiB,
   * or one that does not hash to a digest reference, fails with {@code BAD_RESPONSE}; 404 with
   * {@code NOT_FOUND}/{@code MANIFEST_UNKNOWN}.
   */
  public CompletableFuture<ManifestResponse> getManifest(RepositoryName repo, Reference ref, String accept) {
    Op op = new Op("manifest", "fetch manifest " + show(repo, ref) + " from " + upstream, ErrorCode.MANIFEST_UNKNOWN);
    return run(op, () ->
        auth.send(op.kind, repo, "GET", uri(repo, "manifests/" + ref.value()), Map.of("Accept", accept(accept)),
                BoundedBody.handler(BoundedBody.MAX_SMALL_BODY, s -> s / 100 == 2))
            .thenApply(sent -> {
              requireOk(op, sent);
              byte[] body = sent.response().body();
              if (ref instanceof Reference.ByDigest d) {
                byte[] h = d.digest().newHasher().digest(body);
                if (!d.digest().matches(h)) {
                  throw recorded(op, new UpstreamFailure(Kind.BAD_RESPONSE, "the manifest body does not match its digest"));
                }
              }
              transport.record(op.kind, "ok");
              return new ManifestResponse(
                  body, mediaType(sent.response().headers()), Digest.sha256Of(body),
                  digestHeader(sent.response().headers()));
            }));
  }

  /** HEAD a manifest: its {@code Docker-Content-Digest} (null if absent), media type and size. */
  public CompletableFuture<ManifestHead> headManifest(RepositoryName repo, Reference ref, String accept) {
    Op op = new Op("manifest", "check manifest " + show(repo, ref) + " on " + upstream, ErrorCode.MANIFEST_UNKNOWN);
    return run(op, () ->
        auth.send(op.kind, repo, "HEAD", uri(repo, "manifests/" + ref.value()), Map.of("Accept", accept(accept)),
                HttpResponse.BodyHandlers.discarding())
            .thenApply(sent -> {
              requireOk(op, sent);
              transport.record(op.kind, "ok");
              HttpHeaders h = sent.response().headers();
              return new ManifestHead(digestHeader(h), mediaType(h), h.firstValueAsLong("content-length").orElse(-1));
            }));
  }

  /**
   * HEAD a blob, following redirects. When the HEAD is refused other than with 404, 429 or 503
   * (405 from the registry, 403 from storage presigned for GET), asks with GET and cancels the
   * body once the headers are in.
   */
  public CompletableFuture<BlobHead> headBlob(RepositoryName repo, Digest digest) {
    Op op = new Op("blob", "check blob " + repo + "@" + digest + " on " + upstream, ErrorCode.BLOB_UNKNOWN);
    URI uri = uri(repo, "blobs/" + digest);
    return run(op, () ->
        auth.send(op.kind, repo, "HEAD", uri, Map.of(), HttpResponse.BodyHandlers.discarding())
            .thenCompose(sent -> {
              if (sent.status() / 100 == 2) {
                transport.record(op.kind, "ok");
                return CompletableFuture.completedFuture(
                    new BlobHead(sent.response().headers().firstValueAsLong("content-length").orElse(-1)));
              }
              UpstreamFailure f = statusFailure(sent, null, clock.instant());
              if (f.kind == Kind.NOT_FOUND || f.kind == Kind.RATE_LIMITED || f.upstreamStatus == 503) {
                throw recorded(op, f);
              }
              // Some registries refuse HEAD (405), and object storage behind a redirect refuses a
              // HEAD on a URL presigned for GET (403): ask with GET, keep the headers, drop the body.
              transport.record(op.kind, f.meterResult());
              return auth.send(op.kind, repo, "GET", uri, Map.of(), bodyOn2xx())
                  .thenApply(got -> {
                    requireOk(op, got);
                    transport.record(op.kind, "ok");
                    got.response().body().subscribe(BlobStream.CANCELLING);
                    return new BlobHead(got.response().headers().firstValueAsLong("content-length").orElse(-1));
                  });
            }));
  }

  /**
   * GET a blob from {@code offset} ({@code Range: bytes=<offset>-} when above 0), following
   * redirects from the registry URL every time (presigned URLs expire, so a resume starts over at
   * the registry). Completes when the headers are in; the caller subscribes to the body.
   *
   * @throws IllegalArgumentException if {@code offset} is negative
   */
  public CompletableFuture<BlobStream> getBlob(RepositoryName repo, Digest digest, long offset) {
    if (offset < 0) {
      throw new IllegalArgumentException("offset < 0");
    }
    Op op = new Op("blob", "fetch blob " + repo + "@" + digest + (offset > 0 ? " from byte " + offset : "")
        + " from " + upstream, ErrorCode.BLOB_UNKNOWN);
    Map<String, String> headers = offset > 0 ? Map.of("Range", "bytes=" + offset + "-") : Map.of();
    return guarded(op, permit ->
        auth.send(op.kind, repo, "GET", uri(repo, "blobs/" + digest), headers, bodyOn2xx())
            .thenApply(sent -> {
              requireOk(op, sent);
              HttpResponse<Flow.Publisher<List<ByteBuffer>>> resp = sent.response();
              long start;
              long total;
              if (resp.statusCode() == 206) {
                String cr = resp.headers().firstValue("content-range").orElse("");
                Matcher m = CONTENT_RANGE.matcher(cr.strip());
                if (!m.matches() || Long.parseLong(m.group(1)) != offset) {
                  resp.body().subscribe(BlobStream.CANCELLING);
                  throw recorded(op, new UpstreamFailure(Kind.BAD_RESPONSE,
                      "206 with Content-Range '" + shorten(cr) + "' for a request from byte " + offset, 206, -1, null));
                }
                start = offset;
                total = m.group(3).equals("*") ? -1 : Long.parseLong(m.group(3));
              } else {
                start = 0;
                total = resp.headers().firstValueAsLong("content-length").orElse(-1);
              }
              transport.record(op.kind, "ok");
              Duration idle = config.idleTimeout();
              return new BlobStream(start, total, new BlobBody(resp.body(), meters, upstream, idle, executor,
                  () -> toException(op, new UpstreamFailure(Kind.TIMEOUT,
                      "no body bytes for " + idle.toMillis() + " ms (stalled)")),
                  guard, permit::release));
            }), false);
  }

  /**
   * A small GET for passthrough ({@code tags/list}, {@code referrers/<digest>}): completes with the
   * response for 2xx and 404, fails for anything else. Body bounded to 4 MiB.
   *
   * @param pathAfterName path after {@code /v2/<name>/}, already URL-safe
   * @param query raw query string without {@code ?}, or null
   * @param accept {@code Accept} to send, or null for none
   * @throws IllegalArgumentException if {@code pathAfterName} is empty, absolute or has {@code ..}
   */
  public CompletableFuture<RawResponse> get(RepositoryName repo, String pathAfterName, String query, String accept) {
    if (pathAfterName == null || pathAfterName.isEmpty() || pathAfterName.startsWith("/")
        || pathAfterName.contains("..") || pathAfterName.contains("?") || pathAfterName.contains("#")
        || pathAfterName.chars().anyMatch(c -> c <= ' ' || c >= 0x7f)) {
      throw new IllegalArgumentException("invalid path after repository name");
    }
    String kind = pathAfterName.startsWith("tags/") ? "tags" : pathAfterName.startsWith("referrers/") ? "referrers" : "other";
    ErrorCode notFound = kind.equals("tags") ? ErrorCode.NAME_UNKNOWN : ErrorCode.MANIFEST_UNKNOWN;
    Op op = new Op(kind, "fetch " + repo + "/" + pathAfterName + " from " + upstream, notFound);
    return run(op, () -> {
      URI u = uri(repo, pathAfterName + (query == null || query.isBlank() ? "" : "?" + query));
      Map<String, String> headers = accept == null || accept.isBlank() ? Map.of() : Map.of("Accept", accept);
      return auth.send(kind, repo, "GET", u, headers,
              BoundedBody.handler(BoundedBody.MAX_SMALL_BODY, s -> s / 100 == 2 || s == 404))
          .thenApply(sent -> {
            int s = sent.status();
            if (s / 100 != 2 && s != 404) {
              throw recorded(op, statusFailure(sent, null, clock.instant()));
            }
            transport.record(kind, s == 404 ? "not_found" : "ok");
            Map<String, List<String>> headers2 = new LinkedHashMap<>();
            sent.response().headers().map().forEach((k, v) -> headers2.put(k.toLowerCase(Locale.ROOT), List.copyOf(v)));
            byte[] body = sent.response().body();
            return new RawResponse(s, Map.copyOf(headers2), body == null ? new byte[0] : body);
          });
    });
  }

  /**
   * Pass-through mode: may the client whose {@code Authorization: Basic} value is {@code
   * clientBasic} pull {@code repo}? Asked with the client's credentials (see {@link
   * ClientPullCheck}), never Wharf's; the answer is not cached here. Fails with an {@link
   * UpstreamException} when the registry cannot answer (unreachable, 5xx, 429).
   */
  public CompletableFuture<PullCheck> checkPullAs(RepositoryName repo, String clientBasic) {
    Op op = new Op("pull_check", "check the client's pull permission for " + repo + " on "
        + upstream, ErrorCode.NAME_UNKNOWN);
    return run(op, () -> pullCheck.check(op.kind, repo, uri(repo, "tags/list?n=1"), clientBasic));
  }

  @Override
  public void close() {
    tokens.clear();
  }

  // ---- helpers -------------------------------------------------------------------------------

  /** One operation: its meter kind, the action its messages start with, and its 404 code. */
  private record Op(String kind, String action, ErrorCode notFound) {}

  private interface Body<T> {
    CompletableFuture<T> start();
  }

  private <T> CompletableFuture<T> run(Op op, Body<T> body) {
    return guarded(op, permit -> body.start(), true);
  }

  /**
   * Runs one operation inside an uplink slot (see {@link UplinkGuard}). The slot is released when
   * the operation's future completes, or — with {@code releaseWhenDone} false and success — by
   * the operation itself (a blob body releases it when it ends).
   */
  private <T> CompletableFuture<T> guarded(
      Op op, Function<UplinkGuard.Permit, CompletableFuture<T>> body, boolean releaseWhenDone) {
    return guard.acquire()
        .handle((permit, refused) -> {
          if (refused != null) {
            UpstreamFailure f = Transport.fromThrowable(refused, config.requestTimeout());
            transport.record(op.kind, f.meterResult());
            throw toException(op, f);
          }
          CompletableFuture<T> f;
          try {
            f = body.apply(permit);
          } catch (RuntimeException e) {
            f = CompletableFuture.failedFuture(e);
          }
          return f.handle((v, err) -> {
            UpstreamFailure failure =
                err == null ? null : Transport.fromThrowable(err, config.requestTimeout());
            guard.outcome(failure);
            if (err != null || releaseWhenDone) {
              permit.release();
            }
            if (err == null) {
              return v;
            }
            throw toException(op, failure);
          });
        })
        .thenCompose(Function.identity());
  }

  private UpstreamException toException(Op op, UpstreamFailure f) {
    String message = op.action + ": " + f.getMessage();
    return switch (f.kind) {
      case NOT_FOUND -> new UpstreamException(f.kind, upstream, op.notFound, 404, message, f, -1);
      case NAME_UNKNOWN -> new UpstreamException(f.kind, upstream, ErrorCode.NAME_UNKNOWN, 404, message, f, -1);
      case RATE_LIMITED -> new UpstreamException(
          f.kind, upstream, ErrorCode.TOOMANYREQUESTS, 429, message, f, f.retryAfterSeconds);
      case SERVER_ERROR -> new UpstreamException(
          f.kind, upstream, ErrorCode.UNAVAILABLE, f.upstreamStatus == 503 ? 503 : 502, message, f,
          f.retryAfterSeconds);
      case TIMEOUT -> new UpstreamException(f.kind, upstream, ErrorCode.UNAVAILABLE, 504, message, f, -1);
      case OVERLOADED -> new UpstreamException(
          f.kind, upstream, ErrorCode.UNAVAILABLE, 503, message, f, f.retryAfterSeconds);
      case AUTH_FAILED, UNREACHABLE, BAD_RESPONSE ->
          new UpstreamException(f.kind, upstream, ErrorCode.UNAVAILABLE, 502, message, f, -1);
    };
  }

  /** Throws the failure a non-2xx final response means, after counting it. */
  private void requireOk(Op op, Transport.Sent<?> sent) {
    if (sent.status() / 100 != 2) {
      throw recorded(op, statusFailure(sent, null, clock.instant()));
    }
  }

  private UpstreamFailure recorded(Op op, UpstreamFailure f) {
    transport.record(op.kind, f.meterResult());
    return f;
  }

  /** The failure a final non-2xx status means (401/403 here only come from a redirect target). */
  static UpstreamFailure statusFailure(Transport.Sent<?> sent, String detail, java.time.Instant now) {
    int s = sent.status();
    String d = detail != null ? detail
        : sent.atAuthOrigin() ? "upstream answered " + s : "redirect target " + sent.uri().getHost() + " answered " + s;
    if (s == 404) {
      return new UpstreamFailure(Kind.NOT_FOUND, d, s, -1, null);
    }
    if (s == 429) {
      return new UpstreamFailure(
          Kind.RATE_LIMITED, d, s, RetryAfter.seconds(sent.header("retry-after"), now), null);
    }
    if (s >= 500 && s <= 599) {
      return new UpstreamFailure(
          Kind.SERVER_ERROR, d, s, RetryAfter.seconds(sent.header("retry-after"), now), null);
    }
    if (s / 100 == 3) {
      return new UpstreamFailure(Kind.BAD_RESPONSE, d + " without a usable Location", s, -1, null);
    }
    return new UpstreamFailure(Kind.BAD_RESPONSE, d + " (unexpected)", s, -1, null);
  }

  private static HttpResponse.BodyHandler<Flow.Publisher<List<ByteBuffer>>> bodyOn2xx() {
    return info -> info.statusCode() / 100 == 2
        ? HttpResponse.BodySubscribers.ofPublisher()
        : HttpResponse.BodySubscribers.replacing(null);
  }

  /**
   * The registry URL of {@code rest} (which may carry a query) under {@code repo}; to a parent
   * Wharf with {@code ns=<this upstream's name>} so it routes to its upstream of that name.
   */
  private URI uri(RepositoryName repo, String rest) {
    String u = base + "/v2/" + repo.value() + "/" + rest;
    if (config.kind() == UpstreamConfig.Kind.wharf) {
      u += (rest.indexOf('?') < 0 ? "?" : "&") + "ns=" + upstream;
    }
    return URI.create(u);
  }

  private static String accept(String accept) {
    return accept == null || accept.isBlank() ? String.join(", ", MediaTypes.ALL_MANIFESTS) : accept;
  }

  private static String mediaType(HttpHeaders h) {
    String ct = h.firstValue("content-type").orElse(null);
    if (ct == null) {
      return null;
    }
    int semi = ct.indexOf(';');
    String t = (semi < 0 ? ct : ct.substring(0, semi)).strip().toLowerCase(Locale.ROOT);
    return t.isEmpty() ? null : t;
  }

  private static Digest digestHeader(HttpHeaders h) {
    String v = h.firstValue("docker-content-digest").orElse(null);
    if (v == null) {
      return null;
    }
    try {
      return Digest.parse(v.strip());
    } catch (InvalidReferenceException e) {
      return null;
    }
  }

  private static String show(RepositoryName repo, Reference ref) {
    return repo + (ref instanceof Reference.ByDigest ? "@" : ":") + ref.value();
  }

  private static String shorten(String s) {
    return s.length() <= 80 ? s : s.substring(0, 80) + "...";
  }

}
