package io.wharf.server.http;

import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.epoll.EpollTcpInfo;
import io.netty.handler.timeout.IdleStateEvent;
import java.time.Duration;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Finds a client that stopped taking bytes: fires {@link IdleStateEvent#WRITER_IDLE_STATE_EVENT}
 * when output has been pending on the channel for {@code timeout} without a single byte leaving
 * the process. The handler that owns the response decides whether to close (a connection waiting
 * on upstream has nothing pending and is never reported).
 *
 * <p>Why not Netty's {@code IdleStateHandler(observeOutput = true)}: its first writer-idle event
 * after a write completed is fired whatever the progress, so a response written as one long
 * zero-copy file region (a multi-MB layer to a client on a slow link takes minutes) was reported
 * as stalled one timeout after its head, although bytes kept flowing; the sites this targets have
 * thousands of such clients. Here progress is sampled from the channel's outbound buffer (the
 * current message, its transferred bytes, the bytes pending) every quarter of the timeout.
 *
 * <p>The outbound buffer alone is not enough: once a write sits in a large kernel send buffer
 * (loopback and fast LANs autotune it to MBs), the process writes again only after the kernel has
 * drained a good part of it, so a steady reader slower than that per timeout looked stalled (a
 * 600 KB/s reader of a 8 MiB layer was cut with a 2 s timeout). So before reporting, on epoll
 * the kernel is asked ({@code TCP_INFO}) when it last sent data on the socket: a segment carrying
 * data within the timeout, and no unanswered retransmission, means the client is still taking
 * bytes. A client that stopped reading closes its window; the kernel then sends no data (window
 * probes carry none), so it is reported between one and one and a quarter timeouts after the
 * last byte it took. Without epoll (NIO) only the outbound buffer is looked at.
 *
 * <p>Runs on the channel's event loop only; one scheduled check per connection.
 */
public final class WriteStallDetector extends ChannelDuplexHandler {
  private final long timeoutNanos;
  private final long checkEveryNanos;
  private ScheduledFuture<?> check;
  private int lastMessage;
  private long lastProgress = -1;
  private long lastPending = -1;
  private long lastChangeNanos;
  private EpollTcpInfo tcpInfo; // reused; epoll channels only

  public WriteStallDetector(Duration timeout) {
    if (timeout.isZero() || timeout.isNegative()) {
      throw new IllegalArgumentException("write-stall timeout must be positive: " + timeout);
    }
    this.timeoutNanos = timeout.toNanos();
    this.checkEveryNanos = Math.max(TimeUnit.MILLISECONDS.toNanos(10), timeoutNanos / 4);
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    if (ctx.channel().isActive() && ctx.channel().isRegistered()) {
      start(ctx);
    }
  }

  @Override
  public void channelRegistered(ChannelHandlerContext ctx) throws Exception {
    if (ctx.channel().isActive()) {
      start(ctx);
    }
    super.channelRegistered(ctx);
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) throws Exception {
    start(ctx);
    super.channelActive(ctx);
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) throws Exception {
    stop();
    super.channelInactive(ctx);
  }

  @Override
  public void handlerRemoved(ChannelHandlerContext ctx) {
    stop();
  }

  private void start(ChannelHandlerContext ctx) {
    if (check != null) {
      return;
    }
    lastChangeNanos = System.nanoTime();
    check = ctx.executor().scheduleWithFixedDelay(() -> check(ctx), checkEveryNanos,
        checkEveryNanos, TimeUnit.NANOSECONDS);
  }

  private void stop() {
    if (check != null) {
      check.cancel(false);
      check = null;
    }
  }

  private void check(ChannelHandlerContext ctx) {
    ChannelOutboundBuffer out = ctx.channel().unsafe().outboundBuffer();
    if (out == null) {
      stop(); // closed
      return;
    }
    long now = System.nanoTime();
    Object current = out.current();
    int message = System.identityHashCode(current);
    long progress = out.currentProgress();
    long pending = out.totalPendingWriteBytes();
    if (current == null || message != lastMessage || progress != lastProgress
        || pending != lastPending) {
      // Nothing pending (not waiting on the client), or bytes moved since the last look.
      lastMessage = message;
      lastProgress = progress;
      lastPending = pending;
      lastChangeNanos = now;
      return;
    }
    if (now - lastChangeNanos >= timeoutNanos) {
      if (kernelStillSending(ctx)) {
        return; // bytes leave the socket; look again next time
      }
      lastChangeNanos = now; // report again only after another full timeout
      ctx.fireUserEventTriggered(IdleStateEvent.WRITER_IDLE_STATE_EVENT);
    }
  }

  /** True if the kernel sent data on this socket within the timeout and is not retransmitting. */
  private boolean kernelStillSending(ChannelHandlerContext ctx) {
    if (!(ctx.channel() instanceof EpollSocketChannel ch) || !ch.isActive()) {
      return false;
    }
    try {
      if (tcpInfo == null) {
        tcpInfo = new EpollTcpInfo();
      }
      ch.tcpInfo(tcpInfo);
      return tcpInfo.retransmits() == 0
          && tcpInfo.lastDataSent() < TimeUnit.NANOSECONDS.toMillis(timeoutNanos);
    } catch (RuntimeException e) {
      return false; // socket gone: let the caller report it
    }
  }
}
