package io.wharf.server.http;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.util.AttributeKey;
import java.security.SecureRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;

/**
 * Request ids for the access log and the {@code X-Request-Id} response header. A client (or a
 * load balancer in front) may send its own id; it is kept when it is short and plain, otherwise
 * Wharf makes one: a random per-process prefix and a counter, so ids are unique across restarts
 * and cheap to make on the event loop.
 */
public final class RequestIds {
  public static final String HEADER = "X-Request-Id";
  /** The id of the request a connection is answering now (requests are answered in order). */
  public static final AttributeKey<String> CURRENT = AttributeKey.valueOf("wharf.requestId");

  private static final Pattern PLAIN = Pattern.compile("[A-Za-z0-9._:-]{1,64}");
  private static final String PREFIX = Long.toHexString(new SecureRandom().nextLong() >>> 24);
  private static final AtomicLong COUNTER = new AtomicLong();

  private RequestIds() {}

  /** The client's id when it is plain text of at most 64 characters, else a new one. */
  public static String forRequest(String fromClient) {
    if (fromClient != null && PLAIN.matcher(fromClient).matches()) {
      return fromClient;
    }
    return PREFIX + "-" + Long.toHexString(COUNTER.incrementAndGet());
  }

  /**
   * Stamps every response head leaving the connection with the current request id: blob
   * responders write their own heads, so one outbound handler covers every kind of answer.
   */
  @ChannelHandler.Sharable
  public static final class Stamp extends ChannelOutboundHandlerAdapter {
    public static final Stamp INSTANCE = new Stamp();

    private Stamp() {}

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
      if (msg instanceof HttpResponse r) {
        String id = ctx.channel().attr(CURRENT).get();
        if (id != null) {
          r.headers().set(HEADER, id);
        }
      }
      ctx.write(msg, promise);
    }
  }
}
