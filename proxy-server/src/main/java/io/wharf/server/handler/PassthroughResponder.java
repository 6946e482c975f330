package io.wharf.server.handler;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.wharf.core.fetch.BlobReader;
import io.wharf.core.fetch.PassthroughBody;
import io.wharf.core.oci.Digest;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.Flow;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Streams a blob that no storage tier had room for straight from the upstream body to this one
 * client, uncached ({@link PassthroughBody}: digest-checked, final item held back until verified).
 *
 * <h2>Design</h2>
 *
 * <p>Signals from the body arrive on the HTTP client's threads and are posted to the channel's
 * event loop; everything else runs there. One upstream item is in flight at a time: it is wrapped
 * (no copy, heap memory the HTTP client gave up) in one {@code HttpContent}, written, and only
 * when Netty reports that write done is one more item requested — Armeria's
 * request-one-more-after-each-write. A slow client therefore slows the upstream download (TCP
 * flow control) instead of making Wharf hold the blob on its heap; the upstream body's idle
 * watchdog does not count that as a stall because no demand is outstanding.
 *
 * <p>Headers go out first. After that an error (upstream failure, wrong length, digest mismatch)
 * can only cut the connection, and does so before the final bytes: the client never holds a
 * complete wrong blob. A {@code Range} is ignored and the whole blob sent with 200 (RFC 9110
 * §14.2 allows it): bytes of a range are only known to be right once the whole blob is hashed,
 * and a streamed blob is never held, so a 206 would be a complete response of unverified bytes.
 * Buffers written are released by Netty; those never written were never wrapped.
 */
final class PassthroughResponder implements StreamingResponse, Flow.Subscriber<List<ByteBuffer>> {
  private static final Logger log = LoggerFactory.getLogger(PassthroughResponder.class);

  private final ChannelHandlerContext ctx;
  private final BlobReader reader;
  private final PassthroughBody body;
  private final Digest digest;
  private final StreamingResponse.Listener listener;
  private final Runnable onHeaders;

  // Event loop only.
  private Flow.Subscription subscription;
  private long received; // blob bytes received so far: the offset of the next item
  private long to = -1; // exclusive end of the bytes to send; -1 while unknown (chunked)
  private boolean writePending;
  private boolean lastWritten;
  private boolean finished;
  private long sent;
  private static final int STATUS = 200;

  PassthroughResponder(
      ChannelHandlerContext ctx, BlobReader reader, Digest digest,
      StreamingResponse.Listener listener, Runnable onHeaders) {
    this.onHeaders = onHeaders;
    this.ctx = ctx;
    this.reader = reader;
    this.body = reader.passthrough();
    this.digest = digest;
    this.listener = listener;
  }

  @Override
  public boolean writePending() {
    return writePending;
  }

  @Override
  public void start() {
    long length = body.length();
    HttpResponse resp = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
    if (length >= 0) {
      to = length;
      resp.headers().set(HttpHeaderNames.CONTENT_LENGTH, length);
    } else {
      resp.headers().set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
    }
    resp.headers()
        .set(HttpHeaderNames.CONTENT_TYPE, "application/octet-stream")
        .set("Docker-Content-Digest", digest.toString())
        .set(HttpHeaderNames.ACCEPT_RANGES, "bytes")
        .set(HttpHeaderNames.ETAG, "\"" + digest + "\"")
        .set("Docker-Distribution-API-Version", "registry/2.0");
    ctx.writeAndFlush(resp);
    onHeaders.run();
    body.subscribe(this);
  }

  // ---- body signals: any thread, posted to the event loop ----

  @Override
  public void onSubscribe(Flow.Subscription s) {
    ctx.executor().execute(() -> {
      subscription = s;
      if (finished) {
        s.cancel();
      } else {
        s.request(1);
      }
    });
  }

  @Override
  public void onNext(List<ByteBuffer> item) {
    ctx.executor().execute(() -> write(item));
  }

  @Override
  public void onError(Throwable t) {
    ctx.executor().execute(() -> {
      if (finished) {
        return;
      }
      log.warn("cutting uncached blob {} response after {} bytes: {}", digest, sent,
          t.getMessage() == null ? t.toString() : t.getMessage());
      ctx.close();
      finish(false);
    });
  }

  @Override
  public void onComplete() {
    ctx.executor().execute(() -> {
      if (!finished && !lastWritten) {
        writeLast();
      }
    });
  }

  // ---- event loop ----

  private void write(List<ByteBuffer> item) {
    if (finished || lastWritten) {
      return;
    }
    long n = 0;
    for (ByteBuffer b : item) {
      n += b.remaining();
    }
    long itemStart = received;
    received += n;
    long end = to < 0 ? received : Math.min(received, to);
    if (itemStart >= end) {
      subscription.request(1); // nothing of it to send (an empty item)
      return;
    }
    ByteBuf buf = Unpooled.wrappedBuffer(item.toArray(new ByteBuffer[0]));
    buf.writerIndex((int) (end - itemStart));
    long count = end - itemStart;
    writePending = true;
    ctx.writeAndFlush(new DefaultHttpContent(buf)).addListener(f -> {
      writePending = false;
      if (finished) {
        return;
      }
      if (!f.isSuccess()) {
        ctx.close();
        finish(false);
        return;
      }
      sent += count;
      subscription.request(1);
    });
  }

  private void writeLast() {
    lastWritten = true;
    ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT).addListener(f -> finish(f.isSuccess()));
  }

  @Override
  public void abort() {
    finish(false);
  }

  private void finish(boolean ok) {
    if (finished) {
      return;
    }
    finished = true;
    reader.close(); // cancels the upstream body unless it already ended
    listener.finished(this, "passthrough", STATUS, sent, ok);
  }
}
