package io.wharf.server;

import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpServerKeepAliveHandler;
import io.wharf.core.config.ServerConfig;
import io.wharf.server.handler.RegistryHandler;
import io.wharf.server.http.RequestIds;
import io.wharf.server.http.WriteStallDetector;

/**
 * Pipeline per connection: TLS when configured → HTTP codec with header and line limits → keep-alive → idle and
 * write-stall detection → the OCI API handler (one instance per connection: it owns the blob
 * being streamed).
 */
final class WharfChannelInitializer extends ChannelInitializer<SocketChannel> {
  private final Services services;
  private final ChannelGroup channels;
  private final ConnectionLimiter limiter;
  private final TlsContexts tls;

  WharfChannelInitializer(Services services, ChannelGroup channels, TlsContexts tls) {
    this.services = services;
    this.channels = channels;
    this.tls = tls;
    ServerConfig sc = services.config().server();
    // Keyed by identity, the per-client connection cap is applied at the first authorized request
    // (ClientLimits), since nothing but the address is known at accept.
    this.limiter = new ConnectionLimiter(sc.maxConnections(),
        sc.limitBy() == ServerConfig.LimitBy.identity ? 0 : sc.maxConnectionsPerClient());
  }

  @Override
  protected void initChannel(SocketChannel ch) {
    channels.add(ch);
    ServerConfig sc = services.config().server();
    ChannelPipeline p = ch.pipeline();
    if (tls != null) {
      p.addLast("tls", tls.current().newHandler(ch.alloc()));
    }
    p.addLast("http", new HttpServerCodec(sc.maxInitialLineLength(), sc.maxHeaderSize(), 8192));
    String refused = limiter.admit(ch);
    if (refused != null) {
      p.addLast("refuse", new ConnectionLimiter.Refuse(refused));
      return;
    }
    p.addLast("keepAlive", new HttpServerKeepAliveHandler());
    // Finds clients that stopped taking bytes (no byte of pending output left for the timeout);
    // the handler closes only when a write of its own is pending (waiting on upstream is not a
    // stall). Idle and slow-header connections are closed by the handler's request deadline.
    p.addLast("idle", new WriteStallDetector(sc.writeStallTimeout()));
    p.addLast("requestId", RequestIds.Stamp.INSTANCE);
    p.addLast("registry", new RegistryHandler(services));
  }
}
