package io.wharf.core.upstream;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.Flow;

/**
 * An upstream blob body, headers already received.
 *
 * @param startOffset where the body starts in the blob: the requested offset when the upstream
 *     honoured {@code Range} (206), 0 when it answered 200 and sent the whole blob
 * @param totalLength the whole blob's length (from {@code Content-Range} or {@code
 *     Content-Length}), or -1 when the upstream did not say (chunked)
 * @param body the body; subscribe once and {@code request(n)} only as fast as you can write;
 *     cancel the subscription to abort
 */
public record BlobStream(long startOffset, long totalLength, Flow.Publisher<List<ByteBuffer>> body) {

  /** Takes a body only to cancel it: for callers that wanted the headers alone. */
  public static final Flow.Subscriber<List<ByteBuffer>> CANCELLING = new Flow.Subscriber<>() {
    @Override
    public void onSubscribe(Flow.Subscription s) {
      s.cancel();
    }

    @Override
    public void onNext(List<ByteBuffer> item) {}

    @Override
    public void onError(Throwable t) {}

    @Override
    public void onComplete() {}
  };

  /**
   * {@code body} under the same idle watchdog as upstream blob bodies (see {@link BlobBody}),
   * without uplink meters or limits: for bodies from Wharf peers. {@code stalled} is the error a
   * stalled body ends with; {@code onEnd} runs once when the body ends in any way.
   */
  public static Flow.Publisher<List<ByteBuffer>> watched(Flow.Publisher<List<ByteBuffer>> body,
      java.time.Duration idleTimeout, java.util.concurrent.Executor executor,
      java.util.function.Supplier<Throwable> stalled, Runnable onEnd) {
    return new BlobBody(body, null, null, idleTimeout, executor, stalled, null, onEnd);
  }

  /** Cancels the body without reading it (frees the connection slot and the socket). */
  public void discard() {
    body.subscribe(CANCELLING);
  }
}
