package io.wharf.core.upstream;

import io.wharf.core.metrics.WharfMeters;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.Flow;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Passes a blob body through unchanged (same demand, same buffers) while adding its size to {@code
 * wharf.upstream.bytes}, in batches so the meter is not touched for every buffer.
 */
final class CountingPublisher implements Flow.Publisher<List<ByteBuffer>> {

  private static final long FLUSH_EVERY = 1024 * 1024;

  private final Flow.Publisher<List<ByteBuffer>> source;
  private final WharfMeters meters;
  private final String upstream;

  CountingPublisher(Flow.Publisher<List<ByteBuffer>> source, WharfMeters meters, String upstream) {
    this.source = source;
    this.meters = meters;
    this.upstream = upstream;
  }

  @Override
  public void subscribe(Flow.Subscriber<? super List<ByteBuffer>> downstream) {
    source.subscribe(new Counting(downstream));
  }

  private final class Counting implements Flow.Subscriber<List<ByteBuffer>> {
    private final Flow.Subscriber<? super List<ByteBuffer>> downstream;
    private final AtomicLong pending = new AtomicLong();

    Counting(Flow.Subscriber<? super List<ByteBuffer>> downstream) {
      this.downstream = downstream;
    }

    @Override
    public void onSubscribe(Flow.Subscription s) {
      downstream.onSubscribe(new Flow.Subscription() {
        @Override
        public void request(long n) {
          s.request(n);
        }

        @Override
        public void cancel() {
          flush();
          s.cancel();
        }
      });
    }

    @Override
    public void onNext(List<ByteBuffer> item) {
      long n = 0;
      for (ByteBuffer b : item) {
        n += b.remaining();
      }
      if (pending.addAndGet(n) >= FLUSH_EVERY) {
        flush();
      }
      downstream.onNext(item);
    }

    @Override
    public void onError(Throwable t) {
      flush();
      downstream.onError(t);
    }

    @Override
    public void onComplete() {
      flush();
      downstream.onComplete();
    }

    private void flush() {
      long n = pending.getAndSet(0);
      if (n > 0) {
        meters.upstreamBytes(upstream, n);
      }
    }
  }
}
