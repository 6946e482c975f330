package io.wharf.server;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpRequest;
import io.wharf.core.oci.ErrorCode;
import io.wharf.server.http.OciErrors;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Caps open client connections, in all and per client address. A connection past a cap is
 * answered 503 with {@code Retry-After} on its first request and closed.
 */
final class ConnectionLimiter {
  private static final Logger log = LoggerFactory.getLogger(ConnectionLimiter.class);

  private final int max;
  private final int perClient;
  private final AtomicInteger open = new AtomicInteger();
  private final ConcurrentHashMap<InetAddress, AtomicInteger> byClient = new ConcurrentHashMap<>();

  ConnectionLimiter(int max, int perClient) {
    this.max = max;
    this.perClient = perClient;
  }

  /** Counts {@code ch} until it closes; returns why it must be refused, or null to admit it. */
  String admit(Channel ch) {
    int total = open.incrementAndGet();
    InetAddress addr = ch.remoteAddress() instanceof InetSocketAddress a ? a.getAddress() : null;
    AtomicInteger mine = addr == null ? null : byClient.computeIfAbsent(addr, k -> new AtomicInteger());
    int own = mine == null ? 0 : mine.incrementAndGet();
    ch.closeFuture().addListener(f -> {
      open.decrementAndGet();
      if (mine != null && mine.decrementAndGet() == 0) {
        byClient.remove(addr, mine);
      }
    });
    if (total > max) {
      return "too many connections (limit " + max + ")";
    }
    if (perClient > 0 && own > perClient) {
      return "too many connections from this client (limit " + perClient + ")";
    }
    return null;
  }

  int open() {
    return open.get();
  }

  /** Answers the first request with 503 and closes. */
  static final class Refuse extends SimpleChannelInboundHandler<Object> {
    private final String why;

    Refuse(String why) {
      this.why = why;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
      // A refused connection that never sends a request does not get to sit on a descriptor.
      ctx.executor().schedule(() -> {
        ctx.close();
      }, 5, java.util.concurrent.TimeUnit.SECONDS);
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, Object msg) {
      if (msg instanceof HttpRequest) {
        log.warn("refusing a connection from {}: {}", ctx.channel().remoteAddress(), why);
        FullHttpResponse r = OciErrors.response(ErrorCode.UNAVAILABLE, 503, why, false);
        r.headers().set(HttpHeaderNames.RETRY_AFTER, 1)
            .set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE)
            .set("Docker-Distribution-API-Version", "registry/2.0");
        ctx.writeAndFlush(r).addListener(ChannelFutureListener.CLOSE);
        ctx.channel().config().setAutoRead(false);
      }
    }
  }
}
