package io.wharf.core.config;

import java.time.Duration;

/**
 * Listener settings.
 *
 * @param shutdownGrace how long SIGTERM waits for in-flight responses
 * @param idleTimeout a keep-alive connection with no request for this long is closed
 * @param writeStallTimeout a client that accepts no bytes for this long is dropped
 * @param maxHeaderSize largest request header block, bytes
 * @param maxInitialLineLength longest request line (method, URI, version), bytes
 * @param workerThreads event-loop threads (0: 2 × cores)
 * @param maxConnections open client connections in all; past it new ones get 503 and are closed
 * @param maxConnectionsPerClient open connections from one client address (0: no limit)
 * @param tls TLS for the listener; absent means plain HTTP
 * @param tokens Bearer tokens issued by {@code /token/<upstream>} (key, lifetime)
 * @param limitBy what per-client limits count by: {@code address} (default) or {@code identity}
 *     (the authenticated user when there is one, else the address: a cluster behind one NAT
 *     address is then not one client)
 * @param requestsPerSecond per-client request rate (token bucket refill); 0 means no limit
 * @param requestBurst per-client bucket size (default: 2 × requestsPerSecond, at least 1)
 */
public record ServerConfig(
    Duration shutdownGrace,
    Duration idleTimeout,
    Duration writeStallTimeout,
    Integer maxHeaderSize,
    Integer maxInitialLineLength,
    Integer workerThreads,
    Integer maxConnections,
    Integer maxConnectionsPerClient,
    TlsConfig tls,
    TokenConfig tokens,
    LimitBy limitBy,
    Double requestsPerSecond,
    Integer requestBurst) {

  /** What per-client limits are keyed by. */
  public enum LimitBy {
    address,
    identity
  }

  public static ServerConfig defaults() {
    return new ServerConfig(null, null, null, null, null, null, null, null, null, null, null, null,
        null).withDefaults();
  }

  public ServerConfig withDefaults() {
    return new ServerConfig(
        shutdownGrace == null ? Duration.ofSeconds(30) : shutdownGrace,
        idleTimeout == null ? Duration.ofSeconds(120) : idleTimeout,
        writeStallTimeout == null ? Duration.ofSeconds(120) : writeStallTimeout,
        maxHeaderSize == null ? 16 * 1024 : maxHeaderSize,
        maxInitialLineLength == null ? 8 * 1024 : maxInitialLineLength,
        workerThreads == null ? 0 : workerThreads,
        maxConnections == null ? 20_000 : maxConnections,
        maxConnectionsPerClient == null ? 0 : maxConnectionsPerClient,
        tls == null ? null : tls.withDefaults(),
        tokens == null ? TokenConfig.DEFAULTS : tokens.withDefaults(),
        limitBy == null ? LimitBy.address : limitBy,
        requestsPerSecond == null ? 0.0 : requestsPerSecond,
        requestBurst != null ? requestBurst
            : (int) Math.max(1, Math.ceil(2 * (requestsPerSecond == null ? 0 : requestsPerSecond))));
  }

  void validate() {
    if (shutdownGrace.isNegative()) {
      throw new ConfigException("server.shutdownGrace must be zero or more");
    }
    if (idleTimeout.isNegative() || idleTimeout.isZero()) {
      throw new ConfigException("server.idleTimeout must be positive");
    }
    if (writeStallTimeout.isNegative() || writeStallTimeout.isZero()) {
      throw new ConfigException("server.writeStallTimeout must be positive");
    }
    if (maxHeaderSize < 1024 || maxInitialLineLength < 256) {
      throw new ConfigException(
          "server.maxHeaderSize must be at least 1024 and server.maxInitialLineLength at least 256");
    }
    if (maxConnections < 1 || maxConnectionsPerClient < 0) {
      throw new ConfigException(
          "server.maxConnections must be positive and server.maxConnectionsPerClient zero or more");
    }
    if (tls != null) {
      tls.validate();
    }
    tokens.validate();
    if (requestsPerSecond < 0 || requestsPerSecond.isNaN() || requestBurst < 1) {
      throw new ConfigException(
          "server.requestsPerSecond must be zero (off) or more and server.requestBurst at least 1");
    }
    if (workerThreads < 0) {
      throw new ConfigException("server.workerThreads must be zero or more");
    }
  }
}
