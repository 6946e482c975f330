package io.wharf.server;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.netty.channel.Channel;
import io.wharf.core.config.ServerConfig;
import java.net.InetAddress;
import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongSupplier;

/**
 * Per-client limits after authentication: the request rate (a token bucket per client) and, when
 * limits are keyed by identity, the connections per client. A client is its address, or with
 * {@code server.limitBy: identity} the user it authenticated as (Basic or a Wharf token) and its
 * address only when it did not — a whole cluster behind one NAT address is then not one client,
 * and a user cannot escape its limits by opening connections from many addresses. Unverified
 * names never become keys (a client could otherwise spend another user's budget or mint fresh
 * buckets at will). With {@code limitBy: address} the connection cap is enforced at accept by
 * {@link ConnectionLimiter} instead.
 */
public final class ClientLimits {
  private final boolean byIdentity;
  private final int connectionsPerClient;
  private final double ratePerNano;
  private final double burst;
  private final LongSupplier nanoTime;
  private final Cache<String, Bucket> buckets;
  private final ConcurrentHashMap<String, AtomicInteger> connections = new ConcurrentHashMap<>();

  private static final class Bucket {
    double tokens;
    long last;

    Bucket(double tokens, long last) {
      this.tokens = tokens;
      this.last = last;
    }
  }

  ClientLimits(ServerConfig sc, LongSupplier nanoTime) {
    this.byIdentity = sc.limitBy() == ServerConfig.LimitBy.identity;
    this.connectionsPerClient = sc.maxConnectionsPerClient();
    this.ratePerNano = sc.requestsPerSecond() / 1e9;
    this.burst = sc.requestBurst();
    this.nanoTime = nanoTime;
    this.buckets = Caffeine.newBuilder().expireAfterAccess(Duration.ofMinutes(10))
        .maximumSize(200_000).build();
  }

  /** True when limits are keyed by authenticated identity. */
  public boolean byIdentity() {
    return byIdentity;
  }

  /** The key {@code user} (verified, or null) from {@code address} is limited under. */
  public String key(InetAddress address, String upstream, String user) {
    return byIdentity && user != null ? "user " + upstream + "/" + user
        : "addr " + address.getHostAddress();
  }

  /**
   * With identity keys: counts {@code ch} against {@code key} until it closes (call once per
   * connection, at its first authorized request); returns why it must be refused, or null.
   */
  public String claimConnection(Channel ch, String key) {
    if (!byIdentity || connectionsPerClient <= 0) {
      return null;
    }
    // Counted and removed inside the map's own per-key lock, so a close that drops a key to zero
    // cannot remove a counter another connection has just incremented.
    int now = connections.compute(key, (k, n) -> {
      AtomicInteger c = n == null ? new AtomicInteger() : n;
      c.incrementAndGet();
      return c;
    }).get();
    ch.closeFuture().addListener(f ->
        connections.computeIfPresent(key, (k, n) -> n.decrementAndGet() == 0 ? null : n));
    return now > connectionsPerClient
        ? "too many connections from this client (limit " + connectionsPerClient + ")" : null;
  }

  /**
   * Takes one request from {@code key}'s bucket: 0 when allowed, else the whole seconds until a
   * request would be (for {@code Retry-After}).
   */
  public long tryRequest(String key) {
    if (ratePerNano <= 0) {
      return 0;
    }
    long now = nanoTime.getAsLong();
    Bucket b = buckets.get(key, k -> new Bucket(burst, now));
    synchronized (b) {
      b.tokens = Math.min(burst, b.tokens + (now - b.last) * ratePerNano);
      b.last = now;
      if (b.tokens >= 1) {
        b.tokens -= 1;
        return 0;
      }
      return Math.max(1, (long) Math.ceil((1 - b.tokens) / ratePerNano / 1e9));
    }
  }
}
