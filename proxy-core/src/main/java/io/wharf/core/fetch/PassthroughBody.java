package io.wharf.core.fetch;

import io.wharf.core.oci.Digest;
import io.wharf.core.oci.ErrorCode;
import io.wharf.core.oci.RegistryException;
import io.wharf.core.upstream.BlobStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.util.ArrayDeque;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Flow;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * A blob streamed from upstream to one client without being stored, because no storage tier had
 * room for it: the upstream body, digest-checked on the way.
 *
 * <h2>Design</h2>
 *
 * <p>A {@link Flow.Publisher} for exactly one subscriber (the server's responder), in front of
 * the upstream body. Each item is hashed and counted as it passes. <b>The newest item is always
 * held back</b> — it may be the last — and released only when a newer one arrives, or, for the
 * final one, once the upstream body ended and its length and digest match. On a mismatch the
 * subscriber gets {@code onError} instead of the final item, so it can cut its connection before
 * the client holds a complete wrong blob (the same rule as {@link GrowingBlob}).
 *
 * <p><b>Backpressure.</b> Upstream demand is passed on one item at a time and only while the
 * subscriber has demand and nothing releasable is waiting: at most two upstream items (one
 * releasable, one held back) are on the heap here, however slow the client. A subscriber that
 * requests one item after each completed socket write reads the upstream exactly as fast as its
 * client takes bytes; the upstream body's idle watchdog never fires while demand is withheld.
 *
 * <p><b>Threads.</b> Signals may come from the HTTP client's threads (items) and the subscriber's
 * (requests, cancel); state is guarded by {@code this} and all signals to the subscriber go out of
 * one drain loop, never under the lock and never concurrently.
 *
 * <p><b>Resume.</b> An upstream body that breaks (reset, stall, a clean end short of its length)
 * is not the end: the {@link Resumer} — the fetch's retry budget, shared with the attempts made
 * before the passthrough began — asks the upstream again with {@code Range} from the bytes
 * already received and hashed, and the stream goes on from the new body (a new {@link Leg}); the
 * client only sees a pause. An upstream that ignores {@code Range} has the bytes already passed
 * on dropped, never sent twice; one that answers with another length or past the bytes received
 * is wrong and fails the stream. Past the budget the stream fails, so the client is cut before
 * the final bytes — never a clean end with fewer bytes than its {@code Content-Length}.
 *
 * <p><b>Ending.</b> Exactly one of: completed and verified ({@code ok}), wrong bytes ({@code
 * digest_mismatch}), upstream failure ({@code upstream_error}), or cancelled / closed before the
 * end ({@code cancelled}); {@code onEnd} runs once with that result. {@link #close()} before
 * {@link #subscribe} cancels the upstream body, so its connection slot is given back.
 */
public final class PassthroughBody implements Flow.Publisher<List<ByteBuffer>>, AutoCloseable {

  private final String what;
  private final Digest digest;
  private final long length;
  private final Flow.Publisher<List<ByteBuffer>> source;
  private final Resumer resumer;
  private final Consumer<String> onEnd;
  private final AtomicBoolean subscribed = new AtomicBoolean();
  private final AtomicBoolean ended = new AtomicBoolean();
  private volatile Verifier verifier;

  /**
   * @param what the fetch, for error messages ("fetch blob sha256:… of app from up")
   * @param length the blob's length, or -1 when the upstream did not tell it
   * @param source the upstream body, not yet subscribed
   * @param onEnd runs once when the stream ends, with its result (see the class comment)
   */
  PassthroughBody(String what, Digest digest, long length, Flow.Publisher<List<ByteBuffer>> source,
      Consumer<String> onEnd) {
    this(what, digest, length, source, Resumer.NONE, onEnd);
  }

  /**
   * @param resumer asked for a new upstream body when this one breaks (see {@link Resumer})
   */
  PassthroughBody(String what, Digest digest, long length, Flow.Publisher<List<ByteBuffer>> source,
      Resumer resumer, Consumer<String> onEnd) {
    this.what = what;
    this.digest = digest;
    this.length = length;
    this.source = source;
    this.resumer = resumer;
    this.onEnd = onEnd;
  }

  /** Asks the upstream again after its body broke (reset, stall, ended short). */
  interface Resumer {
    /**
     * A new upstream body from {@code offset} (a {@code Range} request; an upstream may ignore it
     * and start at 0), after whatever backoff the caller's retry budget wants. Completes with
     * null when that budget is spent or {@code cause} is not worth a retry; exceptionally when the
     * request failed (another break, asked about again).
     */
    CompletableFuture<BlobStream> resume(long offset, Throwable cause);

    /** Never resumes: a break ends the stream. */
    Resumer NONE = (offset, cause) -> CompletableFuture.completedFuture(null);
  }

  public Digest digest() {
    return digest;
  }

  /** The blob's length, or -1 when unknown (the response is then chunked). */
  public long length() {
    return length;
  }

  @Override
  public void subscribe(Flow.Subscriber<? super List<ByteBuffer>> subscriber) {
    if (!subscribed.compareAndSet(false, true)) {
      subscriber.onSubscribe(new Flow.Subscription() {
        @Override
        public void request(long n) {}

        @Override
        public void cancel() {}
      });
      subscriber.onError(new IllegalStateException(what + ": a passthrough body has one reader"));
      return;
    }
    Verifier v = new Verifier(subscriber);
    verifier = v;
    source.subscribe(v.firstLeg());
  }

  /** Cancels the stream (subscribed or not); idempotent. */
  @Override
  public void close() {
    if (subscribed.compareAndSet(false, true)) {
      source.subscribe(io.wharf.core.upstream.BlobStream.CANCELLING);
      end("cancelled");
      return;
    }
    Verifier v = verifier;
    if (v != null) {
      v.cancel();
    }
  }

  private void end(String result) {
    if (ended.compareAndSet(false, true)) {
      onEnd.accept(result);
    }
  }

  private final class Verifier implements Flow.Subscription {
    private final Flow.Subscriber<? super List<ByteBuffer>> downstream;
    private final MessageDigest hasher = digest.newHasher();
    private final AtomicInteger wip = new AtomicInteger();

    // Guarded by this.
    private Leg current; // the upstream body whose signals count; null between two
    private Flow.Subscription upstream; // current's subscription, once it has one
    private boolean downstreamSubscribed;
    private long received; // blob bytes hashed so far: where a resume starts
    private long demand;
    private boolean upstreamRequested;
    private boolean upstreamEnded;
    private boolean verified;
    private boolean terminated;
    private RuntimeException error;
    private String errorResult;
    private List<ByteBuffer> held;
    private final ArrayDeque<List<ByteBuffer>> releasable = new ArrayDeque<>(2);

    Verifier(Flow.Subscriber<? super List<ByteBuffer>> downstream) {
      this.downstream = downstream;
    }

    synchronized Leg firstLeg() {
      current = new Leg(0);
      return current;
    }

    // ---- upstream side: one leg per upstream response ----

    void legSubscribed(Leg leg, Flow.Subscription s) {
      boolean cancel;
      boolean first = false;
      synchronized (this) {
        cancel = terminated || leg != current;
        if (!cancel) {
          upstream = s;
          upstreamRequested = false;
          first = !downstreamSubscribed;
          downstreamSubscribed = true;
        }
      }
      if (cancel) {
        s.cancel(); // closed before the upstream body was even subscribed
        return;
      }
      if (first) {
        downstream.onSubscribe(this);
      }
      drain();
    }

    void legNext(Leg leg, List<ByteBuffer> item) {
      synchronized (this) {
        if (leg != current) {
          return;
        }
        upstreamRequested = false;
        if (terminated || upstreamEnded) {
          return;
        }
        item = leg.dropRepeated(item);
        long n = 0;
        for (ByteBuffer b : item) {
          n += b.remaining();
        }
        received += n;
        if (length >= 0 && received > length) {
          // the drain loop cancels the upstream and tells the subscriber
          fail(bad("upstream sent more than the blob's " + length + " bytes"), "digest_mismatch");
        } else if (n > 0) {
          for (ByteBuffer b : item) {
            hasher.update(b.duplicate());
          }
          if (held != null) {
            releasable.add(held);
          }
          held = item;
        }
      }
      drain();
    }

    void legError(Leg leg, Throwable t) {
      synchronized (this) {
        if (leg != current || terminated || upstreamEnded) {
          return;
        }
        current = null;
        upstream = null;
        upstreamRequested = false;
      }
      broke(t);
    }

    void legComplete(Leg leg) {
      boolean endedShort = false;
      synchronized (this) {
        if (leg != current || terminated || upstreamEnded) {
          return;
        }
        upstreamRequested = false;
        if (length >= 0 && received < length) {
          endedShort = true;
          current = null;
          upstream = null;
        } else {
          upstreamEnded = true;
          byte[] actual = hasher.digest();
          if (!digest.matches(actual)) {
            fail(bad("digest mismatch: upstream bytes hash to " + digest.algorithm() + ":"
                + HexFormat.of().formatHex(actual)), "digest_mismatch");
          } else {
            verified = true;
            if (held != null) {
              releasable.add(held);
              held = null;
            }
          }
        }
      }
      if (endedShort) {
        broke(new IOException("upstream body ended after " + received + " of " + length
            + " bytes"));
      } else {
        drain();
      }
    }

    /**
     * The upstream body broke before the end: ask for the rest ({@code Range} from the bytes
     * received; the client meanwhile sees a pause), or, past the retry budget, fail — the
     * subscriber then cuts its client short of the last bytes.
     */
    private void broke(Throwable cause) {
      long offset;
      synchronized (this) {
        if (terminated) {
          return;
        }
        offset = received;
      }
      CompletableFuture<BlobStream> next;
      try {
        next = resumer.resume(offset, cause);
      } catch (RuntimeException e) {
        next = CompletableFuture.completedFuture(null);
        cause.addSuppressed(e);
      }
      next.whenComplete((stream, err) -> {
        if (err != null) {
          broke(err instanceof CompletionException && err.getCause() != null ? err.getCause()
              : err);
        } else if (stream == null) {
          giveUp(cause);
        } else {
          resumed(stream, offset);
        }
      });
    }

    private void giveUp(Throwable cause) {
      synchronized (this) {
        if (terminated || upstreamEnded) {
          return;
        }
        upstreamEnded = true;
        fail(cause instanceof RuntimeException re ? re
            : new RegistryException(ErrorCode.UNAVAILABLE, 502, what + ": " + cause, cause),
            "upstream_error");
      }
      drain();
    }

    private void resumed(BlobStream stream, long offset) {
      Leg leg = null;
      synchronized (this) {
        if (!terminated && !upstreamEnded) {
          String wrong = null;
          if (length >= 0 && stream.totalLength() >= 0 && stream.totalLength() != length) {
            wrong = "upstream changed the blob's length from " + length + " to "
                + stream.totalLength();
          } else if (stream.startOffset() > received) {
            wrong = "upstream resumed at " + stream.startOffset() + " but only " + received
                + " bytes were received";
          }
          if (wrong != null) {
            upstreamEnded = true;
            fail(bad(wrong), "upstream_error");
          } else {
            leg = new Leg(received - stream.startOffset());
            current = leg;
          }
        }
      }
      if (leg == null) {
        stream.discard();
        drain();
        return;
      }
      stream.body().subscribe(leg);
    }

    // ---- downstream side ----

    @Override
    public void request(long n) {
      synchronized (this) {
        if (terminated) {
          return;
        }
        if (n <= 0) {
          fail(new IllegalArgumentException("request(" + n + "): must be positive (§3.9)"),
              "cancelled");
        } else {
          demand = demand + n < 0 ? Long.MAX_VALUE : demand + n;
        }
      }
      drain();
    }

    @Override
    public void cancel() {
      Flow.Subscription up;
      synchronized (this) {
        if (terminated) {
          return;
        }
        terminated = true;
        held = null;
        releasable.clear();
        up = upstreamEnded ? null : upstream;
      }
      if (up != null) {
        up.cancel();
      }
      end("cancelled");
    }

    // ---- internals ----

    /** Records the failure to deliver; the drain loop sends it. Holds the lock. */
    private void fail(RuntimeException e, String result) {
      if (error == null) {
        error = e;
        errorResult = result;
      }
      held = null;
      releasable.clear();
    }

    private RegistryException bad(String message) {
      return new RegistryException(ErrorCode.UNAVAILABLE, 502, what + " (passthrough): " + message,
          null);
    }

    /** Sends what may be sent, asks upstream for more when needed; one thread at a time. */
    private void drain() {
      if (wip.getAndIncrement() != 0) {
        return;
      }
      int missed = 1;
      do {
        while (step()) {
          // keep going while something happened
        }
        missed = wip.addAndGet(-missed);
      } while (missed != 0);
    }

    /** One signal out (or one upstream request); false when there is nothing to do now. */
    private boolean step() {
      List<ByteBuffer> next = null;
      RuntimeException err = null;
      String errResult = null;
      boolean complete = false;
      Flow.Subscription requestUp = null;
      boolean cancelUp = false;
      synchronized (this) {
        if (terminated || !downstreamSubscribed) {
          return false;
        }
        if (error != null) {
          err = error;
          errResult = errorResult;
          terminated = true;
          cancelUp = !upstreamEnded && upstream != null;
          upstreamEnded = true;
          requestUp = upstream;
        } else if (demand > 0 && !releasable.isEmpty()) {
          next = releasable.poll();
          demand--;
        } else if (verified && releasable.isEmpty()) {
          complete = true;
          terminated = true;
        } else if (demand > 0 && releasable.isEmpty() && !upstreamRequested && !upstreamEnded
            && upstream != null) {
          upstreamRequested = true;
          requestUp = upstream;
        } else {
          return false;
        }
      }
      if (err != null) {
        if (cancelUp) {
          requestUp.cancel();
        }
        downstream.onError(err);
        end(errResult);
        return false;
      }
      if (next != null) {
        downstream.onNext(next);
        return true;
      }
      if (complete) {
        downstream.onComplete();
        end("ok");
        return false;
      }
      requestUp.request(1);
      return true;
    }
  }

  /**
   * One upstream response body. A resume gets a new leg; signals of an old one are ignored. An
   * upstream that ignored {@code Range} starts again at 0: the leg drops the bytes already
   * received instead of passing them on twice.
   */
  private final class Leg implements Flow.Subscriber<List<ByteBuffer>> {
    private long skip; // guarded by the verifier

    Leg(long skip) {
      this.skip = skip;
    }

    private Verifier verifier() {
      return PassthroughBody.this.verifier;
    }

    /** {@code item} without the bytes this leg repeats. Under the verifier's lock. */
    List<ByteBuffer> dropRepeated(List<ByteBuffer> item) {
      if (skip == 0) {
        return item;
      }
      List<ByteBuffer> rest = new java.util.ArrayList<>(item.size());
      for (ByteBuffer b : item) {
        int drop = (int) Math.min(skip, b.remaining());
        skip -= drop;
        if (drop < b.remaining()) {
          ByteBuffer d = b.duplicate();
          d.position(d.position() + drop);
          rest.add(d.slice());
        }
      }
      return rest;
    }

    @Override
    public void onSubscribe(Flow.Subscription s) {
      verifier().legSubscribed(this, s);
    }

    @Override
    public void onNext(List<ByteBuffer> item) {
      verifier().legNext(this, item);
    }

    @Override
    public void onError(Throwable t) {
      verifier().legError(this, t);
    }

    @Override
    public void onComplete() {
      verifier().legComplete(this);
    }
  }
}
