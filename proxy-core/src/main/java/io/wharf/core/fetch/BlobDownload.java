package io.wharf.core.fetch;

import io.wharf.core.metrics.WharfMeters;
import io.wharf.core.oci.Digest;
import io.wharf.core.oci.ErrorCode;
import io.wharf.core.oci.RegistryException;
import io.wharf.core.oci.RepositoryName;
import io.wharf.core.store.Placement;
import io.wharf.core.store.SharedFile;
import io.wharf.core.store.StoreException;
import io.wharf.core.store.TieredStore;
import io.wharf.core.upstream.BlobStream;
import io.wharf.core.upstream.UpstreamException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.concurrent.Flow;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Drives one upstream fetch of one blob into a {@link GrowingBlob}.
 *
 * <h2>Threads and ordering</h2>
 *
 * Every step — opening the temp file, each write, each failure, the final verification and
 * commit — runs on one {@link SerialExecutor} over the disk executor, so the steps never overlap
 * and never run on an event loop or on the HTTP client's threads. The body subscriber requests one
 * more chunk only after the previous one is on disk: the upstream is read exactly as fast as the
 * disk takes it, and never faster than that regardless of how many clients read.
 *
 * <h2>Failure paths</h2>
 *
 * <ul>
 *   <li>Connection reset, stall (the client's body watchdog: no bytes for {@code idleTimeout}
 *       while data is wanted) or a body shorter than its
 *       length: resume with {@code Range: bytes=<written>-} asking the registry URL again (its
 *       redirect to storage may have expired), up to {@code retries} times with backoff. An
 *       upstream that ignores the Range and sends the whole blob again has the bytes already on
 *       disk skipped, never appended twice.
 *   <li>Wrong bytes (more than the length, or a digest mismatch at the end): the fetch fails at
 *       once; no retry could make the same upstream right.
 *   <li>On failure the temp file is deleted, nothing is stored, every reader is told and cuts its
 *       connection (the last byte was never released), and the next request starts afresh.
 *   <li>No tier has room when the upstream's first response arrives ({@link TieredStore#place}
 *       refuses, or no temp file can be opened): the body is handed, uncached and digest-checked,
 *       to the request that started the fetch ({@link PassthroughBody}); every joined reader gets
 *       503 with {@code Retry-After}; nothing is written. A blob of unknown length outgrowing its
 *       tier, or a write error (disk full behind our back), mid-fetch: the fetch fails with 503
 *       and {@code Retry-After} for everyone (readers are already reading the temp file); nothing
 *       partial is kept, and a write error makes placements skip that tier for a while, so the
 *       next request spills to the next tier.
 * </ul>
 *
 * <h2>Where the bytes go</h2>
 *
 * The temp file is created once the upstream's first response says how long the blob is: the
 * store reserves that many bytes in the fastest tier with room (see {@link TieredStore}) and the
 * file lives in that tier's {@code tmp/}, so the final rename never crosses file systems.
 */
final class BlobDownload {
  private static final Logger log = LoggerFactory.getLogger(BlobDownload.class);

  private final GrowingBlob blob;
  private final BlobSource source;
  private final RepositoryName repo;
  private final TieredStore store;
  private final SerialExecutor serial;
  private final ScheduledExecutorService scheduler;
  private final WharfMeters meters;
  private final Runnable onDone;
  private final int maxRetries;

  // Everything below is touched only on the serial executor.
  private Placement placement;
  private Path tempPath;
  private FileChannel out;
  private SharedFile readFile;
  private MessageDigest hasher;
  private long written;
  private int attempts;
  private Body current;
  private boolean finished;
  private boolean startedSignalled;

  BlobDownload(
      GrowingBlob blob,
      BlobSource source,
      RepositoryName repo,
      TieredStore store,
      Executor diskExecutor,
      ScheduledExecutorService scheduler,
      WharfMeters meters,
      Runnable onDone) {
    this.blob = blob;
    this.source = source;
    this.repo = repo;
    this.store = store;
    this.serial = new SerialExecutor(diskExecutor);
    this.scheduler = scheduler;
    this.meters = meters;
    this.onDone = onDone;
    this.maxRetries = source.retries();
  }

  private String what() {
    return "fetch blob " + blob.digest() + " of " + repo + " from " + blob.upstream();
  }

  void start() {
    serial.execute(this::open);
  }

  private void open() {
    try {
      Optional<SharedFile> existing = store.openBlob(blob.digest());
      if (existing.isPresent()) {
        // Stored between the caller's store lookup and this fetch starting: no upstream trip.
        SharedFile f = existing.get();
        long size = f.size();
        blob.start(f, size);
        blob.complete(size);
        blob.settle(true);
        finished = true;
        blob.close();
        onDone.run();
        return;
      }
      hasher = blob.digest().newHasher();
      meters.fetchStarted(blob.upstream());
      if (source.cancelWhenAbandoned()) {
        blob.cancelWhenAbandoned(() -> serial.execute(this::abandoned));
      }
      request();
    } catch (RuntimeException e) {
      fail(new RegistryException(
          ErrorCode.UNAVAILABLE, 503, what() + ": cannot read the store: " + e, e), "io_error");
    }
  }

  /**
   * Reserves room for the blob in a tier and opens its temp file. Returns null when placed, or
   * why no tier can take it (budgets, floors, recent write failures, a temp file that cannot be
   * opened): the caller then passes the blob through uncached.
   */
  private StoreException tryPlace() {
    Placement p;
    try {
      p = store.place(blob.digest(), blob.length());
    } catch (StoreException e) {
      return e;
    }
    try {
      out = FileChannel.open(p.tempPath(), StandardOpenOption.WRITE);
      readFile = SharedFile.open(p.tempPath());
    } catch (IOException e) {
      p.writeFailed(e);
      try {
        if (out != null) {
          out.close();
        }
      } catch (IOException closing) {
        e.addSuppressed(closing);
      }
      out = null;
      store.abandon(p);
      return new StoreException("cannot open a temp file in tier " + p.tierName() + ": " + e, e,
          TieredStore.NO_ROOM_RETRY_AFTER_SECONDS);
    }
    placement = p;
    tempPath = p.tempPath();
    return null;
  }

  /**
   * No tier can take the blob: stream the upstream body to the request that started the fetch,
   * through a digest check and uncached; every request that joins meanwhile gets 503 with {@code
   * Retry-After}. The fetch stays in flight (so joiners keep getting that 503 instead of each
   * starting an upstream download) until the body ends; nothing is remembered after, so once
   * space is back the next request is cached as usual. A break in the upstream body is resumed
   * with {@code Range} within the same retry budget ({@link #resumePassthrough}).
   */
  private void passThrough(BlobStream stream, StoreException noRoom) {
    finished = true;
    StoreException joiners = new StoreException(what() + ": " + noRoom.getMessage()
        + "; streaming it uncached to the request that started the fetch", noRoom,
        noRoom.retryAfterSeconds() > 0 ? noRoom.retryAfterSeconds()
            : TieredStore.NO_ROOM_RETRY_AFTER_SECONDS);
    log.warn("{}", joiners.getMessage());
    meters.storePassthrough();
    PassthroughBody body = new PassthroughBody(what(), blob.digest(), blob.length(), stream.body(),
        this::resumePassthrough, result -> {
          meters.fetchFinished(blob.upstream(), result.equals("ok") ? "passthrough" : result, 1);
          if (!result.equals("ok")) {
            log.warn("{}: uncached passthrough ended: {}", what(), result);
          }
          blob.settle(false);
          blob.close();
          onDone.run();
        });
    blob.passthrough(body, joiners);
  }

  private void request() {
    attempts++;
    long offset = written;
    source
        .getBlob(repo, blob.digest(), offset)
        .whenComplete((stream, err) -> serial.execute(() -> onResponse(stream, err, offset)));
  }

  private void onResponse(BlobStream stream, Throwable err, long offset) {
    if (finished) {
      if (stream != null) {
        stream.discard(); // cancelled (abandoned) while this request was on its way
      }
      return;
    }
    if (err != null) {
      retryOrFail(unwrap(err));
      return;
    }
    if (!blob.learnLength(stream.totalLength())) {
      stream.discard();
      fail(upstreamBad("upstream changed the blob's length from " + blob.length() + " to "
          + stream.totalLength()), "upstream_error");
      return;
    }
    long skip = written - stream.startOffset();
    if (skip < 0) {
      stream.discard();
      fail(upstreamBad("upstream resumed at " + stream.startOffset() + " but only " + written
          + " bytes are on disk"), "upstream_error");
      return;
    }
    if (offset > 0 && skip > 0) {
      log.info("{}: upstream ignored Range from {}; skipping {} bytes already on disk", what(),
          offset, skip);
    }
    if (placement == null) {
      StoreException noRoom;
      try {
        noRoom = tryPlace();
      } catch (RuntimeException e) {
        stream.discard();
        fail(new RegistryException(ErrorCode.UNAVAILABLE, 503, what() + ": " + e, e), "io_error");
        return;
      }
      if (noRoom != null) {
        passThrough(stream, noRoom);
        return;
      }
    }
    if (!startedSignalled) {
      startedSignalled = true;
      blob.start(readFile, blob.length());
    }
    current = new Body(skip);
    stream.body().subscribe(current);
  }


  private void write(Body body, List<ByteBuffer> buffers) {
    if (finished || body != current) {
      return;
    }
    try {
      for (ByteBuffer b : buffers) {
        ByteBuffer buf = b;
        if (body.skip > 0) {
          int drop = (int) Math.min(body.skip, buf.remaining());
          buf = buf.duplicate();
          buf.position(buf.position() + drop);
          body.skip -= drop;
        }
        int n = buf.remaining();
        if (n == 0) {
          continue;
        }
        long len = blob.length();
        if (len >= 0 && written + n > len) {
          body.cancel();
          fail(upstreamBad("upstream sent more than the blob's " + len + " bytes"),
              "digest_mismatch");
          return;
        }
        if (!placement.ensure(written + n)) {
          body.cancel();
          fail(new StoreException(what() + ": tier " + placement.tierName() + " has no room for "
              + (written + n) + " bytes of a blob of unannounced length", null,
              TieredStore.NO_ROOM_RETRY_AFTER_SECONDS), "no_room");
          return;
        }
        hasher.update(buf.duplicate());
        long pos = written;
        while (buf.hasRemaining()) {
          pos += out.write(buf, pos);
        }
        written = pos;
      }
      blob.progress(written);
      body.requestMore();
    } catch (IOException e) {
      body.cancel();
      placement.writeFailed(e);
      fail(new RegistryException(ErrorCode.UNAVAILABLE, 503,
          what() + ": writing to " + tempPath.getParent() + " failed: " + e, e), "io_error");
    }
  }

  private void bodyEnded(Body body, Throwable err) {
    if (finished || body != current) {
      return;
    }
    current = null;
    if (err != null) {
      retryOrFail(unwrap(err));
      return;
    }
    long len = blob.length();
    if (len >= 0 && written < len) {
      retryOrFail(new IOException("upstream body ended after " + written + " of " + len + " bytes"));
      return;
    }
    verifyAndCommit();
  }

  private void verifyAndCommit() {
    byte[] actual = hasher.digest();
    if (!blob.digest().matches(actual)) {
      fail(upstreamBad("digest mismatch: upstream bytes hash to " + blob.digest().algorithm() + ":"
          + java.util.HexFormat.of().formatHex(actual)), "digest_mismatch");
      return;
    }
    // Verified: the readers get the last byte now. Making the file durable (fsync, rename,
    // directory fsync) takes tens of ms per blob on a plain disk and is no concern of theirs:
    // they read through the open descriptor, which the rename keeps. Requests arriving meanwhile
    // still join this fetch (it leaves the in-flight table only below, once stored).
    finished = true;
    blob.complete(written);
    try {
      out.force(true);
      out.close();
      store.commit(placement, blob.digest());
    } catch (IOException | RuntimeException e) {
      log.error("{}: served whole and verified to its {} readers, but storing it failed: {}",
          what(), blob.readers(), e.toString());
      try {
        out.close();
      } catch (IOException closing) {
        // already reported above
      }
      store.abandon(placement);
      meters.fetchFinished(blob.upstream(), "io_error", blob.readers());
      blob.settle(false);
      blob.close();
      onDone.run();
      return;
    }
    log.debug("{}: stored {} bytes for {} readers", what(), written, blob.readers());
    meters.fetchFinished(blob.upstream(), "ok", blob.readers());
    blob.settle(true);
    blob.close();
    onDone.run();
  }

  /**
   * Resets, stalls, 5xx: worth another try. A 429, a Retry-After, or Wharf's own uplink protection
   * refusing: retrying at once would only hammer what asked us to back off.
   */
  private static boolean retryable(Throwable cause) {
    if (cause instanceof UpstreamException ue) {
      return ue.isTransient() && ue.kind() != UpstreamException.Kind.RATE_LIMITED
          && ue.kind() != UpstreamException.Kind.OVERLOADED && ue.retryAfterSeconds() <= 0;
    }
    return !(cause instanceof RegistryException);
  }

  private long backoffMillis() {
    return Math.min(5_000, 100L << Math.min(attempts - 1, 6));
  }

  private void retryOrFail(Throwable cause) {
    if (retryable(cause) && attempts <= maxRetries) {
      long backoffMs = backoffMillis();
      log.warn("{}: {} after {} bytes; resuming in {} ms (attempt {} of {})", what(),
          describe(cause), written, backoffMs, attempts, maxRetries);
      meters.fetchResumed(blob.upstream());
      scheduler.schedule(() -> serial.execute(() -> {
        if (!finished) {
          request();
        }
      }), backoffMs, TimeUnit.MILLISECONDS);
      return;
    }
    RegistryException failure = cause instanceof RegistryException re ? re
        : new RegistryException(ErrorCode.UNAVAILABLE, 502,
            what() + ": " + describe(cause) + " after " + written + " bytes, " + attempts
                + " attempts", cause);
    fail(failure, "upstream_error");
  }

  /**
   * The passthrough's upstream body broke after {@code offset} bytes reached the client: the same
   * retry budget and backoff as a cached fetch, then {@code Range} from {@code offset} against
   * the registry URL again. Null when the budget is spent (the client is then cut).
   */
  private CompletableFuture<BlobStream> resumePassthrough(long offset, Throwable cause) {
    CompletableFuture<BlobStream> next = new CompletableFuture<>();
    serial.execute(() -> {
      if (!retryable(cause) || attempts > maxRetries) {
        log.warn("{} (uncached): {} after {} bytes; giving up after {} attempts", what(),
            describe(cause), offset, attempts);
        next.complete(null);
        return;
      }
      long backoffMs = backoffMillis();
      log.warn("{} (uncached): {} after {} bytes; resuming in {} ms (attempt {} of {})", what(),
          describe(cause), offset, backoffMs, attempts, maxRetries);
      meters.fetchResumed(blob.upstream());
      scheduler.schedule(() -> serial.execute(() -> {
        attempts++;
        source.getBlob(repo, blob.digest(), offset).whenComplete((s, e) -> {
          if (e != null) {
            next.completeExceptionally(e);
          } else {
            next.complete(s);
          }
        });
      }), backoffMs, TimeUnit.MILLISECONDS);
    });
    return next;
  }

  /**
   * Every reader went away before the blob was complete and the upstream is configured with
   * {@code cancelWhenAbandoned}: stop reading it, drop the temp file and the reservation, and
   * leave the in-flight map (the blob already refuses new readers, so the next request starts a
   * fresh fetch). If the download finished first, this is a no-op and the blob is stored.
   */
  private void abandoned() {
    if (finished) {
      return;
    }
    log.info("{}: every client went away after {} of {} bytes; cancelling the download"
        + " (cancelWhenAbandoned)", what(), written, blob.length());
    fail(new RegistryException(ErrorCode.UNAVAILABLE, 503,
        what() + ": cancelled, every client went away", null), "abandoned", false);
  }

  private RegistryException upstreamBad(String message) {
    return new RegistryException(ErrorCode.UNAVAILABLE, 502, what() + ": " + message, null);
  }

  private void fail(RegistryException cause, String result) {
    fail(cause, result, true);
  }

  private void fail(RegistryException cause, String result, boolean logError) {
    if (finished) {
      return;
    }
    finished = true;
    if (current != null) {
      current.cancel();
      current = null;
    }
    if (logError) {
      log.error("{}", cause.getMessage());
    }
    try {
      if (out != null) {
        out.close();
      }
    } catch (IOException e) {
      log.warn("{}: closing temp file failed: {}", what(), e.toString());
    }
    if (placement != null) {
      store.abandon(placement);
    }
    if (readFile != null && !startedSignalled) {
      readFile.release();
    }
    blob.fail(cause);
    blob.settle(false);
    blob.close();
    if (hasher != null) {
      meters.fetchFinished(blob.upstream(), result, blob.readers());
    }
    onDone.run();
  }

  private static Throwable unwrap(Throwable t) {
    while (t instanceof CompletionException && t.getCause() != null) {
      t = t.getCause();
    }
    return t;
  }

  private static String describe(Throwable t) {
    return t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
  }

  /** One upstream response body; a resume gets a new one. */
  private final class Body implements Flow.Subscriber<List<ByteBuffer>> {
    private long skip;
    private volatile Flow.Subscription subscription;

    Body(long skip) {
      this.skip = skip;
    }

    @Override
    public void onSubscribe(Flow.Subscription s) {
      subscription = s;
      s.request(1);
    }

    @Override
    public void onNext(List<ByteBuffer> item) {
      serial.execute(() -> write(this, item));
    }

    @Override
    public void onError(Throwable t) {
      serial.execute(() -> bodyEnded(this, t));
    }

    @Override
    public void onComplete() {
      serial.execute(() -> bodyEnded(this, null));
    }

    void requestMore() {
      subscription.request(1);
    }

    void cancel() {
      Flow.Subscription s = subscription;
      if (s != null) {
        s.cancel();
      }
    }
  }
}
