package io.wharf.core.upstream;

import io.wharf.core.config.Credentials;
import io.wharf.core.oci.RepositoryName;
import io.wharf.core.upstream.UpstreamException.Kind;
import java.net.URI;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Sends registry requests with the right {@code Authorization} and answers the registry's
 * challenges.
 *
 * <h2>Design</h2>
 *
 * <p>State: the last challenge the registry sent ({@code Bearer realm/service} or {@code Basic}),
 * one per upstream, and the {@link TokenCache}. Both are safe to share across threads; no lock is
 * held across I/O. Once a challenge is known every request sends credentials pre-emptively, so the
 * steady state is one round trip per request.
 *
 * <p>One call goes: pick the header (static token; else Basic if the registry asked for Basic and
 * credentials have a password; else a Bearer token for the repository's pull scope from the cache;
 * else nothing) → send via {@link Transport} (which follows redirects and never carries the
 * header off the registry's origin) → on a 401/403 from the registry decide:
 *
 * <ul>
 *   <li>a Bearer challenge and no token sent, or a token that arrived before this call started: remember the
 *       challenge, drop the cached token (only if nobody replaced it meanwhile) and retry once;
 *   <li>a token obtained during this call still refused: the repository does not exist or is not
 *       ours to read (Docker Hub answers both with 401) → {@code NAME_UNKNOWN};
 *   <li>a Basic challenge: retry once with the configured credentials; refused again → {@code
 *       AUTH_FAILED}; none configured → {@code NAME_UNKNOWN};
 *   <li>a static token refused with 401 → {@code AUTH_FAILED}; 403 → {@code NAME_UNKNOWN}.
 * </ul>
 *
 * <p>Credentials rejected by the token endpoint fail inside {@link TokenCache} as {@code
 * AUTH_FAILED}. No secret ever enters a message or a log line.
 */
final class RegistryAuth {

  private static final int MAX_AUTH_RETRIES = 2;

  /** What the registry asked for last: scheme "bearer" (with realm and service) or "basic". */
  record Remembered(String scheme, String realm, String service) {}

  /** What a call sent as credentials in its latest attempt. */
  private enum Sent {
    NONE,
    STATIC,
    BASIC,
    CACHED_TOKEN,
    FRESH_TOKEN
  }

  private final Transport transport;
  private final TokenCache tokens;
  private final Credentials.Resolved credentials;
  private final URI origin;
  private final String upstream;
  private final AtomicReference<Remembered> challenge = new AtomicReference<>();

  RegistryAuth(Transport transport, TokenCache tokens, Credentials.Resolved credentials, URI origin, String upstream) {
    this.transport = transport;
    this.tokens = tokens;
    this.credentials = credentials;
    this.origin = origin;
    this.upstream = upstream;
  }

  Remembered remembered() {
    return challenge.get();
  }

  /**
   * Sends the request with credentials and completes with the final response, which the caller
   * classifies and counts. 401/403 from the registry never reach the caller: they are retried
   * here or become an {@link UpstreamFailure}.
   */
  <T> CompletableFuture<Transport.Sent<T>> send(
      String kind,
      RepositoryName repo,
      String method,
      URI uri,
      Map<String, String> headers,
      HttpResponse.BodyHandler<T> handler) {
    Call<T> call = new Call<>(kind, repo, method, uri, headers, handler, tokens.arrivals());
    return attempt(call);
  }

  private final class Call<T> {
    final String kind;
    final RepositoryName repo;
    final String method;
    final URI uri;
    final Map<String, String> headers;
    final HttpResponse.BodyHandler<T> handler;
    final long startArrivals;
    int retries;
    Sent sent = Sent.NONE;
    TokenCache.Key tokenKey;
    TokenCache.Token token;

    Call(String kind, RepositoryName repo, String method, URI uri, Map<String, String> headers,
        HttpResponse.BodyHandler<T> handler, long startArrivals) {
      this.kind = kind;
      this.repo = repo;
      this.method = method;
      this.uri = uri;
      this.headers = headers;
      this.handler = handler;
      this.startArrivals = startArrivals;
    }
  }

  private <T> CompletableFuture<Transport.Sent<T>> attempt(Call<T> call) {
    return authorization(call)
        .thenCompose(auth -> transport.send(call.kind, call.method, call.uri, call.headers, auth, origin, call.handler))
        .thenCompose(
            result -> {
              int s = result.status();
              if (!result.atAuthOrigin() || (s != 401 && s != 403)) {
                return CompletableFuture.completedFuture(result);
              }
              UpstreamFailure denial = onDenied(call, result);
              if (denial != null) {
                transport.record(call.kind, denial.meterResult());
                throw denial;
              }
              transport.record(call.kind, "challenged"); // a 401 challenge, answered by the retry
              call.retries++;
              return attempt(call);
            });
  }

  private CompletableFuture<String> authorization(Call<?> call) {
    if (credentials.token() != null) {
      call.sent = Sent.STATIC;
      return CompletableFuture.completedFuture("Bearer " + credentials.token());
    }
    Remembered r = challenge.get();
    if (r == null) {
      call.sent = Sent.NONE;
      return CompletableFuture.completedFuture(null);
    }
    if (r.scheme().equals("basic")) {
      if (credentials.hasBasic()) {
        call.sent = Sent.BASIC;
        return CompletableFuture.completedFuture(TokenCache.basic(credentials.username(), credentials.password()));
      }
      call.sent = Sent.NONE;
      return CompletableFuture.completedFuture(null);
    }
    TokenCache.Key key = new TokenCache.Key(r.realm(), r.service(), call.repo.value());
    CompletableFuture<TokenCache.Token> f = tokens.get(key);
    call.tokenKey = key;
    return f.thenApply(
        t -> {
          call.token = t;
          call.sent = t.arrival() > call.startArrivals ? Sent.FRESH_TOKEN : Sent.CACHED_TOKEN;
          return "Bearer " + t.value();
        });
  }

  /** Null to retry; otherwise the failure this denial means. */
  private UpstreamFailure onDenied(Call<?> call, Transport.Sent<?> result) {
    int s = result.status();
    if (call.retries >= MAX_AUTH_RETRIES) {
      return denied(call, s);
    }
    if (call.sent == Sent.STATIC) {
      return s == 401
          ? new UpstreamFailure(
              Kind.AUTH_FAILED, "credentials for upstream " + upstream + " were rejected (static token, 401)",
              s, -1, null)
          : denied(call, s);
    }
    if (s == 403) {
      if (call.sent == Sent.CACHED_TOKEN) {
        tokens.invalidate(call.tokenKey, call.token);
        return null;
      }
      return denied(call, s);
    }
    List<WwwAuthenticate.Challenge> challenges =
        WwwAuthenticate.parse(result.response().headers().allValues("www-authenticate"));
    WwwAuthenticate.Challenge bearer = first(challenges, "bearer");
    WwwAuthenticate.Challenge basic = first(challenges, "basic");
    if (bearer != null && bearer.param("realm") != null && !bearer.param("realm").isBlank()) {
      challenge.set(new Remembered("bearer", bearer.param("realm"), bearer.param("service")));
      switch (call.sent) {
        case FRESH_TOKEN:
          return denied(call, s);
        case CACHED_TOKEN:
          tokens.invalidate(call.tokenKey, call.token);
          return null;
        default:
          return null;
      }
    }
    if (basic != null) {
      if (!credentials.hasBasic()) {
        return denied(call, s);
      }
      if (call.sent == Sent.BASIC) {
        return new UpstreamFailure(
            Kind.AUTH_FAILED, "credentials for upstream " + upstream + " were rejected (Basic, 401)", s, -1, null);
      }
      challenge.set(new Remembered("basic", null, null));
      return null;
    }
    if (call.sent == Sent.BASIC) {
      return new UpstreamFailure(
          Kind.AUTH_FAILED, "credentials for upstream " + upstream + " were rejected (Basic, 401)", s, -1, null);
    }
    if (call.sent == Sent.FRESH_TOKEN) {
      return denied(call, s);
    }
    return new UpstreamFailure(
        Kind.BAD_RESPONSE, "upstream answered 401 without a usable WWW-Authenticate challenge", s, -1, null);
  }

  private UpstreamFailure denied(Call<?> call, int status) {
    return new UpstreamFailure(
        Kind.NAME_UNKNOWN,
        "repository " + call.repo + " not found on " + upstream + " or access denied (upstream answered " + status + ")",
        status, -1, null);
  }

  private static WwwAuthenticate.Challenge first(List<WwwAuthenticate.Challenge> cs, String scheme) {
    for (WwwAuthenticate.Challenge c : cs) {
      if (c.is(scheme)) {
        return c;
      }
    }
    return null;
  }
}
