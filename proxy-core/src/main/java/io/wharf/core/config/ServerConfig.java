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
    TlsConfig tls) {

  public static ServerConfig defaults() {
    return new ServerConfig(null, null, null, null, null, null, null, null, null).withDefaults();
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
        tls == null ? null : tls.withDefaults());
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
    if (workerThreads < 0) {
      throw new ConfigException("server.workerThreads must be zero or more");
    }
  }
}
