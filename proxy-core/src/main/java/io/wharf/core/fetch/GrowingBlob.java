package io.wharf.core.fetch;

import io.wharf.core.oci.Digest;
import io.wharf.core.store.SharedFile;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * A blob that is being fetched from upstream into a temp file, readable by any number of readers
 * while it grows.
 *
 * <h2>Design</h2>
 *
 * <p>One {@link BlobDownload} writes; readers tail. The writer publishes {@code written} after
 * each disk write and the total {@code length} once known (upstream {@code Content-Length} or
 * {@code Content-Range}; -1 while unknown). Readers ask {@link #readable()} how many bytes from 0
 * they may send, and park a one-shot callback with {@link #whenReadableBeyond} when they have sent
 * them all. Callbacks run on the writer's thread and must only hand off (the server posts to its
 * event loop).
 *
 * <p><b>The final byte is held back until the digest is verified.</b> {@code readable()} never
 * reaches {@code length} before {@link #complete}: with a known length the last byte is withheld;
 * with an unknown length, the newest byte always is (any byte may be the last). So a reader can
 * never send a whole blob that turns out to be wrong: on {@link #fail} it cuts its connection one
 * byte short at the latest.
 *
 * <p>Readers share one read-only descriptor ({@link SharedFile}) opened on the temp file when the
 * fetch starts; it keeps working after the rename into the store. The blob holds one reference
 * until {@link #close}; {@link #newReaderFile} retains one per reader under the same lock, so a
 * reader can never pick up a descriptor that is being closed. A late joiner that finds the blob
 * closed goes back to the store.
 *
 * <p>Readers that end say so ({@link #readerClosed}). By default nothing follows: the fetch goes
 * on and the blob is stored, since the next job wants it. When the upstream is configured to
 * cancel abandoned fetches, the last reader leaving a running fetch marks it abandoned under the
 * lock — from then on it hands out no descriptor and {@link InFlightFetches} starts a fresh fetch
 * instead of joining it — and the download is told to cancel, outside the lock. A prefetch that
 * wants the blob whatever its readers do calls {@link #keepFetching}.
 *
 * <p>All state is guarded by {@code this}; no lock is held while calling out.
 */
public final class GrowingBlob {

  /** Lifecycle. */
  public enum State {
    STARTING,
    RUNNING,
    COMPLETE,
    FAILED,
    /**
     * No tier had room: the upstream body goes straight to the request that started the fetch
     * ({@link #takePassthrough}); everyone else gets {@link #failure()} (503, {@code
     * Retry-After}). Nothing is written, so there is never a file to read.
     */
    PASSTHROUGH
  }

  private final Digest digest;
  private final String upstream;
  private final CompletableFuture<GrowingBlob> started = new CompletableFuture<>();
  /** True once the verified blob is stored, false if the fetch ended any other way. */
  private final CompletableFuture<Boolean> stored = new CompletableFuture<>();

  private long length = -1;
  private long written;
  private State state = State.STARTING;
  private Throwable failure;
  private SharedFile file;
  private boolean closed;
  private int readers;
  /** Readers whose {@link BlobReader} is still open. */
  private int active;
  private boolean keepFetching;
  private Runnable onAbandoned;
  private boolean abandoned;
  private List<Waiter> waiters = new ArrayList<>();
  private PassthroughBody passthrough;

  private record Waiter(long position, Runnable callback) {}

  GrowingBlob(Digest digest, String upstream) {
    this.digest = digest;
    this.upstream = upstream;
  }

  public Digest digest() {
    return digest;
  }

  public String upstream() {
    return upstream;
  }

  /**
   * Completes when the upstream answered with headers (length known, or -1) — the moment a
   * reader can send its own response headers — or exceptionally if the fetch failed before.
   */
  public CompletableFuture<GrowingBlob> started() {
    return started;
  }

  public synchronized long length() {
    return length;
  }

  public synchronized long written() {
    return written;
  }

  public synchronized State state() {
    return state;
  }

  public synchronized Throwable failure() {
    return failure;
  }

  public synchronized int readers() {
    return readers;
  }

  /** Bytes from offset 0 a reader may send now (see the class comment on the final byte). */
  public synchronized long readable() {
    return readableLocked();
  }

  private long readableLocked() {
    if (state == State.COMPLETE) {
      return length;
    }
    if (length >= 0) {
      return written < length ? written : Math.max(0, length - 1);
    }
    return Math.max(0, written - 1);
  }

  /**
   * Runs {@code callback} once {@link #readable()} exceeds {@code position}, or the blob
   * completes or fails — immediately (on the calling thread) if that is already so.
   */
  public void whenReadableBeyond(long position, Runnable callback) {
    boolean now;
    synchronized (this) {
      now = readableLocked() > position || terminalLocked();
      if (!now) {
        waiters.add(new Waiter(position, callback));
      }
    }
    if (now) {
      callback.run();
    }
  }

  /**
   * A reference to the shared read descriptor for one more reader, or null if the blob is closed
   * (the caller then looks in the store). Call after {@link #started()} completed.
   */
  synchronized SharedFile newReaderFile() {
    if (closed || abandoned || file == null || state == State.FAILED
        || state == State.PASSTHROUGH) {
      return null;
    }
    readers++;
    active++;
    return file.retain();
  }

  /**
   * A reader from {@link #newReaderFile} is done (its response ended, or its client went away).
   * When it was the last one, the fetch is still running, nobody asked to {@link #keepFetching}
   * and the download asked to be told ({@link #cancelWhenAbandoned}), the blob is marked
   * abandoned — no reader joins it any more, {@link InFlightFetches} starts a fresh fetch for
   * the next request — and the download is told to cancel.
   */
  void readerClosed() {
    Runnable abandon = null;
    synchronized (this) {
      active--;
      if (active == 0 && state == State.RUNNING && onAbandoned != null && !keepFetching
          && !abandoned) {
        abandoned = true;
        abandon = onAbandoned;
      }
    }
    if (abandon != null) {
      abandon.run();
    }
  }

  /**
   * Keeps the fetch going to the end even if every reader goes away (a prefetch or pin that wants
   * the blob stored, whatever its clients do). Idempotent.
   */
  public synchronized void keepFetching() {
    keepFetching = true;
  }

  /** True once the last reader left a fetch configured to cancel then; it takes no new readers. */
  synchronized boolean isAbandoned() {
    return abandoned;
  }

  /** The download cancels when its last reader leaves: {@code onAbandoned} runs once, then. */
  synchronized void cancelWhenAbandoned(Runnable onAbandoned) {
    this.onAbandoned = onAbandoned;
  }

  // ---- writer side (BlobDownload) ----

  void start(SharedFile readFile, long totalLength) {
    synchronized (this) {
      this.file = readFile;
      this.length = totalLength;
      this.state = State.RUNNING;
    }
    started.complete(this);
  }

  /** Sets the length once the upstream tells it on a later response; false if it contradicts. */
  synchronized boolean learnLength(long totalLength) {
    if (totalLength < 0) {
      return true;
    }
    if (length < 0) {
      length = totalLength;
      return true;
    }
    return length == totalLength;
  }

  void progress(long newWritten) {
    List<Runnable> toRun;
    synchronized (this) {
      written = newWritten;
      toRun = takeWaitersLocked();
    }
    toRun.forEach(Runnable::run);
  }

  void complete(long finalLength) {
    List<Runnable> toRun;
    synchronized (this) {
      length = finalLength;
      written = finalLength;
      state = State.COMPLETE;
      toRun = takeWaitersLocked();
    }
    started.complete(this);
    toRun.forEach(Runnable::run);
  }

  /**
   * Whether the fetch left the blob stored: true after the verified file is durable and indexed,
   * false if it failed or could not be stored. Completes after {@link #complete}: readers get the
   * last byte once the digest matches, storing follows.
   */
  public CompletableFuture<Boolean> stored() {
    return stored;
  }

  void settle(boolean isStored) {
    stored.complete(isStored);
  }

  void fail(Throwable cause) {
    List<Runnable> toRun;
    synchronized (this) {
      if (terminalLocked()) {
        return;
      }
      state = State.FAILED;
      failure = cause;
      toRun = takeWaitersLocked();
    }
    started.completeExceptionally(cause);
    toRun.forEach(Runnable::run);
  }

  /**
   * No tier had room: hands {@code body} to the leader and fails everyone else with {@code
   * joiners} (a 503 with {@code Retry-After}). The fetch stays in flight until the body ends, so
   * concurrent requests for the digest keep joining it and getting that 503.
   */
  void passthrough(PassthroughBody body, RuntimeException joiners) {
    List<Runnable> toRun;
    synchronized (this) {
      if (terminalLocked()) {
        throw new IllegalStateException("blob " + digest + " is already " + state);
      }
      state = State.PASSTHROUGH;
      passthrough = body;
      failure = joiners;
      length = body.length();
      toRun = takeWaitersLocked();
    }
    started.complete(this);
    toRun.forEach(Runnable::run);
  }

  /** The passthrough body, once (for the request that started the fetch); null afterwards. */
  synchronized PassthroughBody takePassthrough() {
    PassthroughBody p = passthrough;
    passthrough = null;
    return p;
  }

  private boolean terminalLocked() {
    return state == State.COMPLETE || state == State.FAILED || state == State.PASSTHROUGH;
  }

  /** Drops the blob's own descriptor reference; later joiners go to the store. */
  void close() {
    SharedFile f;
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      f = file;
    }
    if (f != null) {
      f.release();
    }
  }

  /** Removes and returns the callbacks that may proceed now: all of them once terminal. */
  private List<Runnable> takeWaitersLocked() {
    if (waiters.isEmpty()) {
      return List.of();
    }
    boolean terminal = terminalLocked();
    long readable = readableLocked();
    List<Runnable> ready = new ArrayList<>();
    List<Waiter> keep = new ArrayList<>();
    for (Waiter w : waiters) {
      if (terminal || readable > w.position()) {
        ready.add(w.callback());
      } else {
        keep.add(w);
      }
    }
    waiters = keep;
    return ready;
  }
}
