package io.wharf.core.store;

import io.wharf.core.config.StorageConfig;
import io.wharf.core.config.TierConfig;
import io.wharf.core.metrics.WharfMeters;
import io.wharf.core.oci.Digest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The blob store: disk tiers, fastest first, each with its own byte budget and index.
 *
 * <h2>Policy</h2>
 *
 * <ul>
 *   <li><b>Placement.</b> A fetch reserves its {@code Content-Length} up front in the first tier
 *       that can take it (budget after choosing victims, free-space floor {@code minFree}, no
 *       recent write failure) and writes its temp file there, so the final rename is atomic. A
 *       blob larger than a tier's budget skips that tier. A blob of unknown length (chunked
 *       upstream) is placed in the last tier, the largest, and grows its reservation as it
 *       arrives. No tier with room: {@link #place} refuses (a metric says so) and the fetch passes
 *       the blob through uncached to the request that started it, while requests joining it get
 *       503 with {@code Retry-After}; nothing is kept, and the next request tries again.
 *   <li><b>Tiers are exclusive.</b> A blob is in one tier (two, briefly, while it moves).
 *       Eviction (LRU) from tier {@code k} copies the blob into the first lower tier with room and
 *       then removes it from {@code k}; from the last tier, or if no lower tier has room, it is
 *       deleted.
 *   <li><b>Promotion.</b> A hit in a lower tier is served from there. The {@code
 *       promoteAfterHits}-th hit while the blob sits in that tier copies it one tier up (which may
 *       demote that tier's least recently used blobs in exchange). One cold read never moves a
 *       blob; a blob that keeps being pulled climbs back to the fast tier.
 *   <li><b>Retention</b> (optional): blobs not pulled for {@code retention} are deleted by a
 *       periodic sweep on the disk executor.
 *   <li><b>Pins</b> ({@link Pins}): pinned blobs stay in the tier that holds them — never
 *       evicted, demoted, expired or promoted — until unpinned or purged explicitly.
 * </ul>
 *
 * <h2>Never cut a reader, never lose a findable blob</h2>
 *
 * Readers hold an open descriptor ({@link SharedFile}); unlinking or renaming a file never cuts
 * or shortens what they read (POSIX). A moving blob stays in its source tier's index (state
 * evicting or promoting) until its copy is committed and indexed in the destination, so a
 * look-up always finds one of the two. Look-ups go top-down while promotions go bottom-up: a
 * look-up that misses everywhere while a promotion committed retries ({@code moves} counter), so
 * a move never turns into a spurious miss and upstream re-fetch. A blob that really is gone (a
 * race with deletion, or removed by hand) is simply a miss: it is fetched again.
 *
 * <h2>Threads</h2>
 *
 * Every method that touches files blocks and runs on the disk executor; moves (demotion,
 * promotion, expiry) are queued there too, never run inside an index lock.
 */
public final class TieredStore implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(TieredStore.class);

  /** {@code Retry-After} for a fetch refused because no tier has room. */
  public static final long NO_ROOM_RETRY_AFTER_SECONDS = 30;

  private final List<DiskTier> tiers = new ArrayList<>();
  private final Executor executor;
  private final LongSupplier clock;
  private final WharfMeters meters;
  private final int promoteAfterHits;
  private final Duration retention;
  private final AtomicLong moves = new AtomicLong();
  private final AtomicLong movesPending = new AtomicLong();
  private final List<Runnable> beforeStart = new ArrayList<>();
  /** Temp files of placements not yet committed or abandoned (gc leaves them alone). */
  private final java.util.Set<Path> liveTemps = java.util.concurrent.ConcurrentHashMap.newKeySet();
  private Pins pins;
  private boolean started;
  private ScheduledFuture<?> sweeper;

  private TieredStore(
      Executor executor, LongSupplier clock, WharfMeters meters, int promoteAfterHits,
      Duration retention) {
    this.executor = executor;
    this.clock = clock;
    this.meters = meters;
    this.promoteAfterHits = promoteAfterHits;
    this.retention = retention;
  }

  /**
   * Opens every disk tier of {@code config} (lock, format version, temp files removed, index
   * rebuilt). Blocking; call before serving.
   *
   * @param executor the disk executor: moves between tiers run there
   * @param clock wall-clock milliseconds (recency, retention, write-failure back-off)
   */
  public static TieredStore open(
      StorageConfig config, DiskSpace space, Executor executor, LongSupplier clock,
      WharfMeters meters) {
    TieredStore s = new TieredStore(executor, clock, meters,
        config.promoteAfterHits() == null ? StorageConfig.DEFAULT_PROMOTE_AFTER_HITS
            : config.promoteAfterHits(),
        config.retention());
    long t0 = System.nanoTime();
    List<TierConfig> disks = config.diskTiers();
    try {
      // Pins are read before any tier is indexed: a start-up eviction must already skip them.
      Pins pins = Pins.load(Path.of(disks.get(0).path()));
      s.pins = pins;
      for (int i = 0; i < disks.size(); i++) {
        TierConfig tc = disks.get(i);
        int position = i;
        DiskTier t = DiskTier.open("disk" + i, Path.of(tc.path()), tc.maxBytes(),
            tc.minFreeBytes(), space, clock, victims -> s.onVictims(position, victims), meters,
            pins::contains);
        s.tiers.add(t);
        meters.tierGauges(t.name(), t::entryCount, t::usedBytes, t::reservedBytes,
            () -> t.maxBytes() == Long.MAX_VALUE ? -1 : t.maxBytes());
      }
    } catch (RuntimeException e) {
      s.close();
      throw e;
    }
    s.pins.attach(s.tiers.get(0).store());
    s.start();
    long entries = s.tiers.stream().mapToLong(DiskTier::entryCount).sum();
    long bytes = s.tiers.stream().mapToLong(DiskTier::usedBytes).sum();
    log.info("store opened in {} ms: {} tiers, {} blobs, {} bytes",
        (System.nanoTime() - t0) / 1_000_000, s.tiers.size(), entries, bytes);
    return s;
  }

  private void start() {
    List<Runnable> queued;
    synchronized (beforeStart) {
      started = true;
      queued = new ArrayList<>(beforeStart);
      beforeStart.clear();
    }
    queued.forEach(this::submitMove);
  }

  /** The first disk tier's directory: manifests and tag records live there. */
  public DiskStore primary() {
    return tiers.get(0).store();
  }

  public List<DiskTier> tiers() {
    return List.copyOf(tiers);
  }

  /** Pinned images (persisted in the first disk tier). */
  public Pins pins() {
    return pins;
  }

  // ---- reading ----

  /**
   * Opens {@code d} from the highest tier that holds it, counting hits and misses per tier and
   * scheduling a promotion when a lower-tier blob proves hot. Blocking.
   */
  public Optional<SharedFile> openBlob(Digest d) {
    // A pass that saw no move anywhere is conclusive; one that raced a move is repeated. Passes
    // are microseconds and a move is a file copy, so a blob moving up and down on a loaded machine
    // can outlast many passes: after the first thousand, each retry waits a little, for at most
    // 2 s in all (the bound only guards bugs; a true miss pays it only while moves never stop).
    long deadline = System.nanoTime() + 2_000_000_000L;
    for (int attempt = 0; ; attempt++) {
      if (attempt >= 1000) {
        if (System.nanoTime() - deadline > 0) {
          break;
        }
        java.util.concurrent.locks.LockSupport.parkNanos(200_000);
      }
      long movesBefore = moves.get();
      for (int i = 0; i < tiers.size(); i++) {
        DiskTier t = tiers.get(i);
        DiskTier.Opened o;
        try {
          o = t.open(d);
        } catch (IOException e) {
          throw new StoreException("cannot open blob " + d + " in tier " + t.name() + ": " + e, e);
        }
        if (o == null) {
          meters.tierLookup(t.name(), "miss");
          continue;
        }
        meters.tierLookup(t.name(), "hit");
        maybePromote(i, d, o.hit());
        return Optional.of(o.file());
      }
      if (moves.get() == movesBefore) {
        break;
      }
    }
    return Optional.empty();
  }

  /** Size of {@code d} if any tier holds it (no hit counted). */
  public Optional<Long> blobSize(Digest d) {
    for (DiskTier t : tiers) {
      long s = t.sizeOf(d);
      if (s >= 0) {
        return Optional.of(s);
      }
    }
    return Optional.empty();
  }

  /** The tier holding {@code d}, or null (tests, diagnostics). */
  public String tierOf(Digest d) {
    for (DiskTier t : tiers) {
      if (t.contains(d)) {
        return t.name();
      }
    }
    return null;
  }

  // ---- writing: a fetch ----

  /**
   * Chooses the tier a fetch of {@code d} writes to, reserves {@code length} bytes there (-1:
   * unknown) and creates its temp file. Throws {@link StoreException} (503, {@code Retry-After})
   * when no tier can take it. Blocking.
   */
  public Placement place(Digest d, long length) {
    List<String> whyNot = new ArrayList<>();
    int n = tiers.size();
    for (int k = 0; k < n; k++) {
      DiskTier t = tiers.get(length < 0 ? n - 1 - k : k);
      Reservation r = t.reserve(Math.max(0, length), whyNot);
      if (r == null) {
        continue;
      }
      try {
        Placement p = new Placement(t, r, t.createTemp(d));
        liveTemps.add(p.tempPath());
        return p;
      } catch (IOException e) {
        r.release();
        whyNot.add(t.name() + ": cannot create a temp file: " + e);
      }
    }
    meters.storeNoRoom();
    String msg = "no storage tier can take blob " + d + " ("
        + (length < 0 ? "unknown length" : length + " bytes") + ") now: " + String.join("; ", whyNot);
    log.debug("{}", msg); // the fetch logs it once, with what it was fetching
    throw new StoreException(msg, null, NO_ROOM_RETRY_AFTER_SECONDS);
  }

  /** Stores the verified, fsynced temp file of {@code p} as blob {@code d}. Blocking. */
  public void commit(Placement p, Digest d) {
    try {
      commitPlaced(p, d);
    } finally {
      liveTemps.remove(p.tempPath());
    }
  }

  private void commitPlaced(Placement p, Digest d) {
    try {
      for (DiskTier t : tiers) {
        if (t != p.tier() && t.contains(d)) {
          // Stored meanwhile by another path (a move or a second fetch): keep the one we have.
          abandon(p);
          return;
        }
      }
      p.tier().commit(p.reservation(), d, p.tempPath());
    } catch (IOException e) {
      abandon(p);
      throw new StoreException("cannot store blob " + d + " in tier " + p.tier().name() + ": " + e,
          e);
    }
  }

  /** Gives up a placement: temp file deleted, reservation returned. Idempotent. Blocking. */
  public void abandon(Placement p) {
    liveTemps.remove(p.tempPath());
    p.reservation().release();
    try {
      Files.deleteIfExists(p.tempPath());
    } catch (IOException e) {
      log.warn("cannot remove temp file {}: {}", p.tempPath(), e.toString());
    }
  }

  // ---- moves ----

  private void onVictims(int position, List<LruIndex.Entry> victims) {
    for (LruIndex.Entry e : victims) {
      Runnable move = () -> demote(position, e);
      synchronized (beforeStart) {
        if (!started) {
          beforeStart.add(move);
          continue;
        }
      }
      submitMove(move);
    }
  }

  private void submitMove(Runnable move) {
    movesPending.incrementAndGet();
    try {
      executor.execute(() -> {
        try {
          move.run();
        } catch (RuntimeException e) {
          log.error("moving a blob between tiers failed", e);
        } finally {
          movesPending.decrementAndGet();
        }
      });
    } catch (RuntimeException e) {
      movesPending.decrementAndGet();
      log.warn("cannot queue a move between tiers ({}); it is dropped", e.toString());
    }
  }

  /** Moves and deletions queued or running (tests wait for 0). */
  public long pendingMoves() {
    return movesPending.get();
  }

  /** Eviction from tier {@code from}: copy into the first lower tier with room, else delete. */
  private void demote(int from, LruIndex.Entry e) {
    DiskTier src = tiers.get(from);
    Digest d = e.digest;
    String result = "deleted";
    for (int j = from + 1; j < tiers.size() && result.equals("deleted"); j++) {
      DiskTier dst = tiers.get(j);
      if (dst.contains(d)) {
        result = "demoted";
        break;
      }
      Reservation r = dst.reserve(e.size);
      if (r == null) {
        continue;
      }
      try {
        dst.commit(r, d, src.blobPath(d));
        result = "demoted";
      } catch (NoSuchFileException gone) {
        log.warn("tier {}: evicted blob {} vanished before it could be demoted", src.name(), d);
        break;
      } catch (IOException io) {
        log.warn("demoting blob {} from {} to {} failed: {}", d, src.name(), dst.name(),
            io.toString());
      }
    }
    try {
      src.delete(d);
    } catch (IOException io) {
      log.warn("tier {}: cannot delete evicted blob {}: {}", src.name(), d, io.toString());
    }
    meters.tierEviction(src.name(), result);
    log.debug("evicted {} ({} bytes) from {}: {}", d, e.size, src.name(), result);
  }

  private void maybePromote(int position, Digest d, LruIndex.Hit hit) {
    if (position == 0 || promoteAfterHits <= 0 || hit.hits() < promoteAfterHits
        || hit.state() != LruIndex.State.PRESENT || pins.contains(d)) {
      return;
    }
    DiskTier src = tiers.get(position);
    if (src.index().startPromotion(d)) {
      submitMove(() -> promote(position, d, hit.size()));
    }
  }

  private void promote(int from, Digest d, long size) {
    DiskTier src = tiers.get(from);
    DiskTier dst = tiers.get(from - 1);
    Reservation r = dst.reserve(size);
    if (r == null) {
      src.index().cancelPromotion(d);
      log.debug("blob {} is hot in {} but {} has no room for it now", d, src.name(), dst.name());
      return;
    }
    try {
      dst.commit(r, d, src.blobPath(d));
    } catch (IOException e) {
      src.index().cancelPromotion(d);
      log.warn("promoting blob {} from {} to {} failed: {}", d, src.name(), dst.name(),
          e.toString());
      return;
    }
    moves.incrementAndGet();
    try {
      src.delete(d);
    } catch (IOException e) {
      log.warn("tier {}: cannot delete promoted blob {}: {}", src.name(), d, e.toString());
    }
    meters.tierPromotion(dst.name());
    log.debug("promoted {} ({} bytes) from {} to {}", d, size, src.name(), dst.name());
  }

  // ---- retention ----

  /** Deletes blobs not pulled for {@code retention}; no-op without one. Blocking. */
  public int sweepExpired() {
    if (retention == null) {
      return 0;
    }
    long cutoff = clock.getAsLong() - retention.toMillis();
    int n = 0;
    for (DiskTier t : tiers) {
      for (LruIndex.Entry e : t.index().expire(cutoff)) {
        try {
          t.delete(e.digest);
        } catch (IOException io) {
          log.warn("tier {}: cannot delete expired blob {}: {}", t.name(), e.digest, io.toString());
        }
        meters.tierEviction(t.name(), "expired");
        n++;
      }
    }
    if (n > 0) {
      log.info("retention {}: removed {} blobs not pulled since then", retention, n);
    }
    return n;
  }

  // ---- admin: purge, trim, temp files ----

  /**
   * Removes {@code d} from every tier (index and file). Readers holding it keep their descriptor
   * and finish; the next request fetches it again. A move racing the purge may re-commit the blob
   * one tier up or down, so passes repeat until one finds it nowhere. A fetch in flight is not
   * cancelled: it stores the blob when it completes. Known gap: a demotion whose copy had already
   * opened the file may commit it into the lower tier just after the last pass; the blob is then
   * still cached (verified content, so never wrong) and a second purge removes it. Returns the
   * tiers it was removed from. Blocking.
   */
  public List<String> purge(Digest d) {
    List<String> from = new ArrayList<>();
    for (int pass = 0; pass < 100; pass++) {
      boolean found = false;
      for (DiskTier t : tiers) {
        if (t.contains(d)) {
          found = true;
          try {
            t.delete(d);
          } catch (IOException e) {
            throw new StoreException("cannot delete blob " + d + " from tier " + t.name() + ": "
                + e, e);
          }
          if (!from.contains(t.name())) {
            from.add(t.name());
          }
        }
      }
      if (!found) {
        break;
      }
    }
    if (!from.isEmpty()) {
      log.info("purged blob {} from {}", d, from);
    }
    return from;
  }

  /** Evicts from every tier over its budget (blobs are demoted as usual); victims per tier. */
  public java.util.Map<String, Integer> trimOverBudget() {
    java.util.Map<String, Integer> out = new java.util.LinkedHashMap<>();
    for (int i = 0; i < tiers.size(); i++) {
      List<LruIndex.Entry> victims = tiers.get(i).index().overBudget();
      if (!victims.isEmpty()) {
        onVictims(i, victims);
      }
      out.put(tiers.get(i).name(), victims.size());
    }
    return out;
  }

  /** What {@link #removeOrphanedTemps} removed. */
  public record TempSweep(int files, long bytes) {}

  /**
   * Deletes files in each tier's {@code tmp/} that belong to no fetch in progress and were not
   * modified for {@code graceMillis} (copies between tiers and atomic writes are not tracked, and
   * are always being written). Blocking.
   */
  public TempSweep removeOrphanedTemps(long graceMillis) {
    long cutoff = clock.getAsLong() - graceMillis;
    int files = 0;
    long bytes = 0;
    for (DiskTier t : tiers) {
      Path tmp = t.root().resolve("tmp");
      try (java.nio.file.DirectoryStream<Path> ds = Files.newDirectoryStream(tmp)) {
        for (Path p : ds) {
          try {
            java.nio.file.attribute.BasicFileAttributes a = Files.readAttributes(p,
                java.nio.file.attribute.BasicFileAttributes.class,
                java.nio.file.LinkOption.NOFOLLOW_LINKS);
            if (liveTemps.contains(p) || a.lastModifiedTime().toMillis() > cutoff) {
              continue;
            }
            if (Files.deleteIfExists(p)) {
              files++;
              bytes += a.size();
              log.info("gc: removed orphaned temp file {} ({} bytes)", p, a.size());
            }
          } catch (NoSuchFileException gone) {
            // finished meanwhile
          }
        }
      } catch (IOException e) {
        log.warn("gc: cannot sweep {}: {}", tmp, e.toString());
      }
    }
    return new TempSweep(files, bytes);
  }

  /** Blobs with the most hits in their current tier, most first, at most {@code n}. */
  public List<TopBlob> topByHits(int n) {
    List<TopBlob> all = new ArrayList<>();
    for (DiskTier t : tiers) {
      for (LruIndex.Usage u : t.index().topByHits(n)) {
        all.add(new TopBlob(u.digest(), u.size(), u.hits(), u.lastAccessMillis(), t.name()));
      }
    }
    all.sort(java.util.Comparator.comparingInt(TopBlob::hits).reversed());
    return all.size() > n ? List.copyOf(all.subList(0, n)) : all;
  }

  /** A much-used blob: hits counted in the tier it is in now. */
  public record TopBlob(Digest digest, long size, int hits, long lastAccessMillis, String tier) {}

  /** Runs {@link #sweepExpired} periodically on the disk executor when a retention is set. */
  public void scheduleRetention(ScheduledExecutorService scheduler) {
    if (retention == null) {
      return;
    }
    long period = Math.max(60_000, Math.min(retention.toMillis() / 10, 3_600_000));
    sweeper = scheduler.scheduleAtFixedRate(
        () -> executor.execute(this::sweepExpired), period, period, TimeUnit.MILLISECONDS);
  }

  @Override
  public void close() {
    if (sweeper != null) {
      sweeper.cancel(false);
    }
    tiers.forEach(DiskTier::close);
  }
}
