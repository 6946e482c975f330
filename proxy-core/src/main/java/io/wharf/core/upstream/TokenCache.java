package io.wharf.core.upstream;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.github.benmanes.caffeine.cache.AsyncCache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import com.github.benmanes.caffeine.cache.Ticker;
import io.wharf.core.config.Credentials;
import io.wharf.core.metrics.WharfMeters;
import io.wharf.core.upstream.UpstreamException.Kind;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Base64;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Bearer tokens from a registry's token endpoint (the Docker token spec,
 * https://distribution.github.io/distribution/spec/auth/token/), one per (realm, service, scope).
 *
 * <p>Single flight: tokens live in a Caffeine {@link AsyncCache}, so N concurrent requests for one
 * scope share one future and make one token request. A failed load is dropped from the cache by
 * Caffeine, so the next request tries again. Each entry expires {@code expires_in} (default 60 s)
 * after it arrived, minus a margin for clock and network delay, on the injected {@link Ticker}.
 */
final class TokenCache {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final long DEFAULT_EXPIRES_IN = 60;
  static final int MAX_TOKEN_RESPONSE = 1024 * 1024;

  /** Which token: the challenge's realm and service, and the repository it is scoped to. */
  record Key(String realm, String service, String repository) {
    String scope() {
      return "repository:" + repository + ":pull";
    }
  }

  /**
   * A token, its arrival number (see {@link #arrivals()}) and how long the cache keeps it.
   */
  record Token(String value, long arrival, long ttlNanos) {
    @Override
    public String toString() {
      return "Token[****, ttl=" + Duration.ofNanos(ttlNanos) + "]";
    }
  }

  @JsonIgnoreProperties(ignoreUnknown = true)
  record TokenJson(
      @JsonProperty("token") String token,
      @JsonProperty("access_token") String accessToken,
      @JsonProperty("expires_in") Long expiresIn,
      @JsonProperty("issued_at") String issuedAt) {}

  /**
   * What a load produced. Failures are values rather than failed futures: Caffeine logs every
   * failed async load at WARNING, and Wharf logs an upstream failure once, at the server boundary.
   */
  private record Loaded(Token token, UpstreamFailure failure) {}

  private final AsyncCache<Key, Loaded> cache;
  private final Transport transport;
  private final Credentials.Resolved credentials;
  private final String upstream;
  private final WharfMeters meters;
  private final Ticker ticker;
  private final Clock clock;
  private final AtomicLong arrivals = new AtomicLong();

  TokenCache(
      Transport transport,
      Credentials.Resolved credentials,
      String upstream,
      WharfMeters meters,
      Executor executor,
      Ticker ticker,
      Clock clock) {
    this.transport = transport;
    this.credentials = credentials;
    this.upstream = upstream;
    this.meters = meters;
    this.ticker = ticker;
    this.clock = clock;
    this.cache =
        Caffeine.newBuilder()
            .executor(executor)
            .ticker(ticker)
            .maximumSize(10_000)
            .expireAfter(
                new Expiry<Key, Loaded>() {
                  @Override
                  public long expireAfterCreate(Key key, Loaded l, long now) {
                    return l.token() == null ? 0 : l.token().ttlNanos();
                  }

                  @Override
                  public long expireAfterUpdate(Key key, Loaded l, long now, long current) {
                    return expireAfterCreate(key, l, now);
                  }

                  @Override
                  public long expireAfterRead(Key key, Loaded l, long now, long current) {
                    return current;
                  }
                })
            .buildAsync();
  }

  /**
   * How many tokens have arrived so far. A call that notes this number when it starts knows a token
   * with a higher {@link Token#arrival()} was fetched after it started: fresh, not a leftover.
   */
  long arrivals() {
    return arrivals.get();
  }

  /** The cached token for {@code key}, or the one shared in-flight load of it. */
  CompletableFuture<Token> get(Key key) {
    boolean[] loaded = {false};
    CompletableFuture<Loaded> f =
        cache.get(
            key,
            (k, exec) -> {
              loaded[0] = true;
              return fetch(k).handle((t, err) -> err == null
                  ? new Loaded(t, null)
                  : new Loaded(null, Transport.fromThrowable(err, Duration.ZERO)));
            });
    meters.tokenCache(upstream, loaded[0] ? "miss" : "hit");
    return f.thenApply(l -> {
      if (l.failure() != null) {
        cache.asMap().remove(key, f); // every waiter shares this failure; the next request tries anew
        throw l.failure();
      }
      return l.token();
    });
  }

  /** Drops {@code stale} for {@code key}, unless another request already replaced it. */
  void invalidate(Key key, Token stale) {
    cache.asMap().computeIfPresent(key, (k, f) -> {
      Loaded l = f.getNow(null);
      return l != null && l.token() == stale ? null : f;
    });
  }

  void clear() {
    cache.synchronous().invalidateAll();
  }

  private CompletableFuture<Token> fetch(Key key) {
    URI uri;
    try {
      uri = tokenUri(key);
    } catch (UpstreamFailure f) {
      return CompletableFuture.failedFuture(f);
    }
    String authorization = null;
    if (credentials.hasBasic()) {
      authorization = basic(credentials.username(), credentials.password());
    }
    return transport
        .send(
            "token",
            "GET",
            uri,
            Map.of("Accept", "application/json"),
            authorization,
            uri,
            BoundedBody.handler(MAX_TOKEN_RESPONSE, s -> s / 100 == 2))
        .thenApply(sent -> {
          try {
            Token t = tokenFrom(sent, key);
            transport.record("token", "ok");
            return t;
          } catch (UpstreamFailure f) {
            transport.record("token", f.meterResult());
            throw f;
          }
        });
  }

  private Token tokenFrom(Transport.Sent<byte[]> sent, Key key) {
    int s = sent.status();
    String where = "token endpoint " + sent.uri().getHost();
    if (s / 100 == 2) {
      return parse(sent.response().body(), where);
    }
    if (s == 401 || s == 403) {
      if (credentials.hasBasic()) {
        throw new UpstreamFailure(
            Kind.AUTH_FAILED,
            "credentials for upstream " + upstream + " were rejected (" + where + " answered " + s + ")",
            s, -1, null);
      }
      throw new UpstreamFailure(
          Kind.NAME_UNKNOWN,
          "repository " + key.repository() + " not found on " + upstream + " or access denied ("
              + where + " refused an anonymous token with " + s + ")",
          s, -1, null);
    }
    throw RegistryClient.statusFailure(sent, where + " answered " + s, clock.instant());
  }

  /**
   * The token endpoint URL for {@code key}: the realm with {@code service} and {@code scope}.
   *
   * @throws UpstreamFailure BAD_RESPONSE if the realm is not an http(s) URL
   */
  static URI tokenUri(Key key) {
    try {
      StringBuilder q = new StringBuilder(key.realm());
      q.append(key.realm().contains("?") ? '&' : '?');
      if (key.service() != null) {
        q.append("service=").append(enc(key.service())).append('&');
      }
      q.append("scope=").append(enc(key.scope()));
      URI uri = URI.create(q.toString());
      if (uri.getHost() == null
          || !("http".equalsIgnoreCase(uri.getScheme()) || "https".equalsIgnoreCase(uri.getScheme()))) {
        throw new IllegalArgumentException("not http(s)");
      }
      return uri;
    } catch (IllegalArgumentException e) {
      throw new UpstreamFailure(Kind.BAD_RESPONSE, "the registry named an invalid token realm");
    }
  }

  /** The token JSON in a token endpoint's 2xx body, with a token in it. */
  static TokenJson readToken(byte[] body, String where) {
    TokenJson json;
    try {
      json = JSON.readValue(body, TokenJson.class);
    } catch (IOException | RuntimeException e) {
      throw new UpstreamFailure(Kind.BAD_RESPONSE, where + " sent a body that is not token JSON");
    }
    if (json == null || value(json) == null || value(json).isBlank()) {
      throw new UpstreamFailure(Kind.BAD_RESPONSE, where + " sent no token");
    }
    return json;
  }

  static String value(TokenJson json) {
    return json.token() != null && !json.token().isBlank() ? json.token() : json.accessToken();
  }

  private Token parse(byte[] body, String where) {
    TokenJson json = readToken(body, where);
    String value = value(json);
    long expiresIn = json.expiresIn() == null || json.expiresIn() <= 0 ? DEFAULT_EXPIRES_IN : json.expiresIn();
    long remaining = expiresIn;
    if (json.issuedAt() != null) {
      // A token issued a while ago (the endpoint's cache) has less left. A local clock running
      // ahead only makes tokens expire early (more token requests), never late.
      try {
        long age = Duration.between(Instant.parse(json.issuedAt()), clock.instant()).getSeconds();
        remaining -= Math.max(0, Math.min(age, expiresIn));
      } catch (DateTimeParseException e) {
        // issued_at is optional; an unreadable one is ignored
      }
    }
    long margin = Math.min(30, expiresIn / 10);
    long ttl = Math.max(0, remaining - margin);
    return new Token(value, arrivals.incrementAndGet(), Duration.ofSeconds(ttl).toNanos());
  }

  static String basic(String user, String password) {
    return "Basic "
        + Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
  }

  private static String enc(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8);
  }
}
