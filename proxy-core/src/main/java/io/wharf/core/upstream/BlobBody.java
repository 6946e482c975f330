package io.wharf.core.upstream;

import io.wharf.core.metrics.WharfMeters;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;

/**
 * A blob body as the JDK client delivers it (same demand, same buffers), plus two things it lacks:
 * bytes counted in {@code wharf.upstream.bytes} (in batches, not per buffer), and an idle
 * watchdog. The JDK's request timeout ends at the response headers, so a body that stops
 * mid-stream would hang forever; here, when the subscriber has asked for data and none arrived for
 * {@code idleTimeout}, the upstream is cancelled and the subscriber gets {@code onError} with a
 * {@code TIMEOUT} {@link UpstreamException}. A subscriber that requests nothing (backpressure) is
 * never timed out.
 *
 * <p>Signals to the subscriber are serialized by a lock: the watchdog only {@code tryLock}s, so
 * a buffer being delivered at that moment proves the stream is alive.
 */
final class BlobBody implements Flow.Publisher<List<ByteBuffer>> {

  private static final long FLUSH_EVERY = 1024 * 1024;

  private final Flow.Publisher<List<ByteBuffer>> source;
  private final WharfMeters meters;
  private final String upstream;
  private final long idleNanos;
  private final Executor executor;
  private final Supplier<Throwable> stalled;
  private final UplinkGuard guard;
  private final Runnable onEnd;
  private final AtomicBoolean subscribed = new AtomicBoolean();

  BlobBody(
      Flow.Publisher<List<ByteBuffer>> source,
      WharfMeters meters,
      String upstream,
      Duration idleTimeout,
      Executor executor,
      Supplier<Throwable> stalled,
      UplinkGuard guard,
      Runnable onEnd) {
    this.source = source;
    this.meters = meters;
    this.upstream = upstream;
    this.idleNanos = idleTimeout.toNanos();
    this.executor = executor;
    this.stalled = stalled;
    this.guard = guard;
    this.onEnd = onEnd;
  }

  @Override
  public void subscribe(Flow.Subscriber<? super List<ByteBuffer>> downstream) {
    if (!subscribed.compareAndSet(false, true)) {
      // the underlying JDK publisher accepts one subscriber; say so the same way
      source.subscribe(downstream);
      return;
    }
    source.subscribe(new Watched(downstream));
  }

  private final class Watched implements Flow.Subscriber<List<ByteBuffer>> {
    private final Flow.Subscriber<? super List<ByteBuffer>> downstream;
    private final AtomicLong pendingBytes = new AtomicLong();
    private final AtomicLong demand = new AtomicLong();
    private final AtomicBoolean done = new AtomicBoolean();
    private final ReentrantLock signal = new ReentrantLock();
    private volatile long lastProgress = System.nanoTime();
    private volatile Flow.Subscription upstreamSubscription;
    /** Bandwidth cap: no new demand is passed upstream before this instant (nanoTime). */
    private volatile long resumeAt;
    private final AtomicBoolean ended = new AtomicBoolean();

    Watched(Flow.Subscriber<? super List<ByteBuffer>> downstream) {
      this.downstream = downstream;
    }

    @Override
    public void onSubscribe(Flow.Subscription s) {
      upstreamSubscription = s;
      downstream.onSubscribe(new Flow.Subscription() {
        @Override
        public void request(long n) {
          if (n > 0 && demand.getAndAccumulate(n, (a, b) -> a + b < 0 ? Long.MAX_VALUE : a + b) == 0) {
            lastProgress = System.nanoTime(); // the idle clock starts when data is wanted
          }
          long wait = resumeAt - System.nanoTime();
          if (wait > 0) {
            // Over the bandwidth budget: ask for more later; TCP flow control slows the sender.
            CompletableFuture.delayedExecutor(wait, TimeUnit.NANOSECONDS, executor).execute(() -> {
              lastProgress = System.nanoTime();
              s.request(n);
            });
          } else {
            s.request(n);
          }
        }

        @Override
        public void cancel() {
          done.set(true);
          flush();
          s.cancel();
          end();
        }
      });
      scheduleCheck();
    }

    @Override
    public void onNext(List<ByteBuffer> item) {
      lastProgress = System.nanoTime();
      long n = 0;
      for (ByteBuffer b : item) {
        n += b.remaining();
      }
      if (pendingBytes.addAndGet(n) >= FLUSH_EVERY) {
        flush();
      }
      long wait = guard == null ? 0 : guard.consume(n);
      if (wait > 0) {
        resumeAt = System.nanoTime() + wait;
      }
      demand.getAndUpdate(d -> d == Long.MAX_VALUE || d == 0 ? d : d - 1);
      signal.lock();
      try {
        if (!done.get()) {
          downstream.onNext(item);
        }
      } finally {
        signal.unlock();
      }
    }

    @Override
    public void onError(Throwable t) {
      finish(t);
    }

    @Override
    public void onComplete() {
      finish(null);
    }

    private void finish(Throwable error) {
      signal.lock();
      try {
        if (!done.compareAndSet(false, true)) {
          return;
        }
        flush();
        end();
        if (error == null) {
          downstream.onComplete();
        } else {
          downstream.onError(error);
        }
      } finally {
        signal.unlock();
      }
    }

    /** Gives back the upstream connection slot, once. */
    private void end() {
      if (ended.compareAndSet(false, true)) {
        onEnd.run();
      }
    }

    private void scheduleCheck() {
      long every = Math.max(TimeUnit.MILLISECONDS.toNanos(10), idleNanos / 4);
      CompletableFuture.delayedExecutor(every, TimeUnit.NANOSECONDS, executor).execute(this::check);
    }

    private void check() {
      if (done.get()) {
        return;
      }
      // Demand held back by the bandwidth cap is Wharf waiting, not the upstream stalling.
      boolean waitingForData = demand.get() > 0 && System.nanoTime() >= resumeAt;
      if (waitingForData && System.nanoTime() - lastProgress >= idleNanos && signal.tryLock()) {
        try {
          if (done.compareAndSet(false, true)) {
            upstreamSubscription.cancel();
            flush();
            end();
            downstream.onError(stalled.get());
          }
          return;
        } finally {
          signal.unlock();
        }
      }
      scheduleCheck();
    }

    private void flush() {
      long n = pendingBytes.getAndSet(0);
      if (n > 0 && meters != null) {
        meters.upstreamBytes(upstream, n);
      }
    }
  }
}
