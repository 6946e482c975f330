package io.wharf.server.handler;

import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.wharf.core.fetch.BlobReader;
import io.wharf.core.oci.Digest;
import io.wharf.core.oci.ErrorCode;
import io.wharf.server.http.OciErrors;
import io.wharf.server.http.Ranges;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Streams one blob response from a {@link BlobReader} — a stored file or a fetch still arriving.
 *
 * <h2>Design</h2>
 *
 * <p>Runs entirely on the channel's event loop. It keeps at most one write outstanding: send the
 * slice {@code [pos, readable)} as one zero-copy file region, and when that write completes, look
 * again. When everything readable is sent, park a callback on the reader that posts {@link #pump}
 * back to this event loop once more bytes are verified-safe to send. So a slow client only holds
 * its own socket buffer and one region object (no blob bytes on the heap), and never slows the
 * fetch or other clients.
 *
 * <p>Once headers are out, an error can only cut the connection: a fetch that fails, or a digest
 * that does not match, closes the socket before the final byte, so the client never sees a
 * complete wrong blob. Under TLS, which cannot take file regions, chunks are read into pooled
 * buffers on the disk executor instead, one at a time.
 *
 * <p>A {@code Range} whose bytes are not there yet is waited for, not answered with 416; if the
 * length is not known yet (chunked upstream), the range waits until it is.
 */
final class BlobResponder implements StreamingResponse {
  private static final Logger log = LoggerFactory.getLogger(BlobResponder.class);
  private static final long MAX_REGION = 8L << 20;
  private static final int TLS_CHUNK = 64 * 1024;

  private final ChannelHandlerContext ctx;
  private final BlobReader reader;
  private final Digest digest;
  private final Ranges.Spec range;
  private final StreamingResponse.Listener listener;
  private final Runnable onHeaders;
  private final boolean tls;
  private final java.util.concurrent.Executor diskExecutor;

  private boolean headersSent;
  private boolean chunked;
  private long pos;
  private long end = -1; // exclusive; -1 while unknown (chunked)
  private boolean writePending;
  private boolean done;
  private long sent;
  private boolean finished;
  private int status;

  BlobResponder(
      ChannelHandlerContext ctx, BlobReader reader, Digest digest, Ranges.Spec range,
      StreamingResponse.Listener listener, java.util.concurrent.Executor diskExecutor,
      Runnable onHeaders) {
    this.onHeaders = onHeaders;
    this.ctx = ctx;
    this.tls = ctx.pipeline().get(io.netty.handler.ssl.SslHandler.class) != null;
    this.diskExecutor = diskExecutor;
    this.reader = reader;
    this.digest = digest;
    this.range = range;
    this.listener = listener;
  }

  /** True while a region is written but not yet taken by the client: a stall is the client's. */
  @Override
  public boolean writePending() {
    return writePending;
  }

  @Override
  public void start() {
    pump();
  }

  /** Sends what can be sent now, or parks until there is more. Event loop only. */
  void pump() {
    try {
      pumpOnce();
    } catch (RuntimeException e) {
      // A bug must not leak the reader's descriptor or leave the client hanging.
      log.error("blob {} response failed after {} bytes: {}", digest, sent, e.toString(), e);
      writePending = false;
      ctx.close();
      finish(false);
    }
  }

  private void pumpOnce() {
    if (done || writePending) {
      return;
    }
    if (!ctx.channel().isActive()) {
      finish(false);
      return;
    }
    if (reader.failure() != null) {
      if (!headersSent) {
        OciErrors.Mapped m = OciErrors.map(reader.failure());
        status = m.status();
        ctx.writeAndFlush(OciErrors.response(m, false));
        finish(true);
      } else {
        log.warn("cutting blob {} response after {} bytes: fetch failed: {}", digest, sent,
            reader.failure().getMessage());
        ctx.close();
        finish(false);
      }
      return;
    }
    if (!headersSent && !sendHeaders()) {
      return;
    }
    if (done) {
      return;
    }
    long readable = reader.readable();
    if (chunked && reader.isComplete()) {
      end = reader.length();
    }
    long limit = end < 0 ? readable : Math.min(readable, end);
    if (pos < limit) {
      writeSlice(pos, Math.min(limit - pos, MAX_REGION));
      return;
    }
    if (end >= 0 && pos >= end) {
      ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT)
          .addListener(f -> finish(f.isSuccess()));
      done = true;
      return;
    }
    reader.whenReadableBeyond(pos, () -> ctx.executor().execute(this::pump));
  }

  /** Decides status and length, writes headers. False if it must wait for the length. */
  private boolean sendHeaders() {
    long length = reader.length();
    if (range != null && !reader.isComplete() && reader.failure() == null) {
      // A range is answered from a verified blob only: a range that ends before the last byte
      // would otherwise go out whole and unverified (holding back the final byte protects only
      // responses that include it). So wait until the fetch is verified or has failed; then
      // pump answers the range, or the failure as the spec's error.
      reader.whenReadableBeyond(Long.MAX_VALUE - 1, () -> ctx.executor().execute(this::pump));
      return false;
    }
    HttpResponse resp;
    if (range != null && length >= 0) {
      long[] r = range.resolve(length);
      if (r == null) {
        status = 416;
        OciErrors.Mapped m = new OciErrors.Mapped(416, ErrorCode.RANGE_INVALID,
            "range not satisfiable for blob of " + length + " bytes", -1);
        var full = OciErrors.response(m, false);
        full.headers().set(HttpHeaderNames.CONTENT_RANGE, "bytes */" + length);
        ctx.writeAndFlush(full);
        headersSent = true;
        finish(true);
        return true;
      }
      pos = r[0];
      end = r[1] + 1;
      status = 206;
      resp = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.PARTIAL_CONTENT);
      resp.headers()
          .set(HttpHeaderNames.CONTENT_RANGE, "bytes " + r[0] + "-" + r[1] + "/" + length)
          .set(HttpHeaderNames.CONTENT_LENGTH, end - pos);
    } else {
      status = 200;
      resp = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
      if (length >= 0) {
        end = length;
        resp.headers().set(HttpHeaderNames.CONTENT_LENGTH, length);
      } else {
        chunked = true;
        resp.headers().set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
      }
    }
    resp.headers()
        .set(HttpHeaderNames.CONTENT_TYPE, "application/octet-stream")
        .set("Docker-Content-Digest", digest.toString())
        .set(HttpHeaderNames.ACCEPT_RANGES, "bytes")
        .set(HttpHeaderNames.ETAG, "\"" + digest + "\"")
        .set("Docker-Distribution-API-Version", "registry/2.0");
    ctx.write(resp);
    headersSent = true;
    onHeaders.run();
    return true;
  }

  private void writeSlice(long position, long count) {
    byte[] heap = reader.memory();
    if (heap != null) {
      // Memory tier: wrap the cached array (no copy, nothing pooled, released by the encoder).
      writePending = true;
      int n = (int) count;
      ctx.writeAndFlush(new io.netty.handler.codec.http.DefaultHttpContent(
              io.netty.buffer.Unpooled.wrappedBuffer(heap, (int) position, n)))
          .addListener(afterWrite(n));
      return;
    }
    if (tls) {
      writeCopied(position, (int) Math.min(count, TLS_CHUNK));
      return;
    }
    writePending = true;
    ChannelFuture f = ctx.writeAndFlush(new SharedFileRegion(reader.file(), position, count));
    f.addListener(afterWrite(count));
  }

  /** When a write of {@code n} bytes completes: advance and look again, or end on failure. */
  private io.netty.channel.ChannelFutureListener afterWrite(long n) {
    return f -> {
      writePending = false;
      if (!f.isSuccess()) {
        finish(false);
        return;
      }
      pos += n;
      sent += n;
      pump();
    };
  }

  /**
   * TLS cannot encrypt a file region: read one chunk into a pooled buffer on the disk executor,
   * then write it from the event loop. Still one chunk in flight per connection.
   */
  private void writeCopied(long position, int n) {
    writePending = true;
    io.wharf.core.store.SharedFile file = reader.file().retain();
    diskExecutor.execute(() -> {
      io.netty.buffer.ByteBuf buf = ctx.alloc().directBuffer(n);
      Exception error = null;
      try {
        java.nio.ByteBuffer nio = buf.nioBuffer(0, n);
        while (nio.hasRemaining()) {
          if (file.channel().read(nio, position + nio.position()) < 0) {
            throw new java.io.EOFException("blob file shorter than expected");
          }
        }
        buf.writerIndex(n);
      } catch (java.io.IOException | RuntimeException e) {
        buf.release();
        error = e;
      } finally {
        file.release();
      }
      Exception failed = error;
      ctx.executor().execute(() -> {
        if (failed != null) {
          log.error("reading blob {} at {} failed: {}", digest, position, failed.toString());
          writePending = false;
          ctx.close();
          finish(false);
          return;
        }
        if (finished) {
          buf.release();
          return;
        }
        ctx.writeAndFlush(new io.netty.handler.codec.http.DefaultHttpContent(buf))
            .addListener(afterWrite(n));
      });
    });
  }

  /** The client went away or the channel closed. */
  @Override
  public void abort() {
    finish(false);
  }

  private void finish(boolean ok) {
    if (finished) {
      return;
    }
    finished = true;
    done = true;
    reader.close();
    listener.finished(this, reader.source().name().toLowerCase(java.util.Locale.ROOT),
        status == 0 ? 200 : status, sent, ok);
  }
}
