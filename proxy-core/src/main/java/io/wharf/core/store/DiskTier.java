package io.wharf.core.store;

import io.wharf.core.metrics.WharfMeters;
import io.wharf.core.oci.Digest;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A disk tier: one store directory ({@link DiskStore}: lock file, format version, {@code tmp/},
 * {@code blobs/}) with a byte budget ({@code maxSize}), a free-space floor ({@code minFree}) and
 * its {@link LruIndex}. All methods that touch files block: disk executor only.
 *
 * <p>A write that fails here (disk full behind our back, read-only remount, I/O error) marks the
 * tier unwritable for {@link #WRITE_FAILURE_BACKOFF_MILLIS}: placements skip it and spill to the
 * next tier, and it is tried again afterwards, so Wharf recovers by itself once space is back.
 */
public final class DiskTier implements BlobTier {
  private static final Logger log = LoggerFactory.getLogger(DiskTier.class);

  /** How long a tier whose write failed is skipped. */
  static final long WRITE_FAILURE_BACKOFF_MILLIS = 30_000;
  /** A served blob's modification time is refreshed at most this often (restart recency). */
  static final long TOUCH_EVERY_MILLIS = 3_600_000;

  private final String name;
  private final DiskStore store;
  private final LruIndex index;
  private final long minFree;
  private final DiskSpace space;
  private final LongSupplier clock;
  private final Consumer<List<LruIndex.Entry>> evictor;
  private final WharfMeters meters;
  private volatile long unwritableUntil;

  private DiskTier(
      String name, DiskStore store, long maxBytes, long minFree, DiskSpace space,
      LongSupplier clock, Consumer<List<LruIndex.Entry>> evictor, WharfMeters meters,
      java.util.function.Predicate<Digest> pinned) {
    this.name = name;
    this.meters = meters;
    this.store = store;
    this.index = new LruIndex(maxBytes, pinned);
    this.minFree = minFree;
    this.space = space;
    this.clock = clock;
    this.evictor = evictor;
  }

  /**
   * Opens the directory (lock, format version, empties {@code tmp/}) and rebuilds the index from
   * the blob files, least recently used first. Victims needed to get back within budget (a
   * smaller {@code maxSize} than last time) go to {@code evictor}.
   *
   * @param evictor receives victims, outside any lock; it must move or delete each one and then
   *     call {@link #delete}
   */
  public static DiskTier open(
      String name, Path root, long maxBytes, long minFree, DiskSpace space, LongSupplier clock,
      Consumer<List<LruIndex.Entry>> evictor, WharfMeters meters) {
    return open(name, root, maxBytes, minFree, space, clock, evictor, meters, d -> false);
  }

  /** As above, with blobs that are never evicted or expired from this tier ({@link Pins}). */
  public static DiskTier open(
      String name, Path root, long maxBytes, long minFree, DiskSpace space, LongSupplier clock,
      Consumer<List<LruIndex.Entry>> evictor, WharfMeters meters,
      java.util.function.Predicate<Digest> pinned) {
    long t0 = System.nanoTime();
    DiskStore store = DiskStore.open(root);
    DiskTier tier =
        new DiskTier(name, store, maxBytes, minFree, space, clock, evictor, meters, pinned);
    try {
      DiskStore.ScanResult scan = store.scanBlobs();
      List<DiskStore.ScannedBlob> blobs = new ArrayList<>(scan.blobs());
      blobs.sort(Comparator.comparingLong(DiskStore.ScannedBlob::lastUsedMillis));
      for (DiskStore.ScannedBlob b : blobs) {
        tier.index.load(b.digest(), b.size(), b.lastUsedMillis());
      }
      log.info("tier {} ({}): {} blobs, {} bytes of {} budget; index rebuilt in {} ms{}",
          name, store.root(), tier.index.size(), tier.index.usedBytes(),
          maxBytes == Long.MAX_VALUE ? "no" : maxBytes + " bytes",
          (System.nanoTime() - t0) / 1_000_000,
          scan.removed() > 0 ? "; removed " + scan.removed() + " files not named by their digest"
              : "");
    } catch (IOException | RuntimeException e) {
      store.close();
      throw new StoreException("cannot index tier " + name + " at " + root + ": " + e, e);
    }
    List<LruIndex.Entry> over = tier.index.overBudget();
    if (!over.isEmpty()) {
      log.info("tier {} is over its budget after start-up; evicting {} blobs", name, over.size());
      evictor.accept(over);
    }
    return tier;
  }

  @Override
  public String name() {
    return name;
  }

  public DiskStore store() {
    return store;
  }

  public Path root() {
    return store.root();
  }

  LruIndex index() {
    return index;
  }

  @Override
  public long maxBytes() {
    return index.maxBytes();
  }

  @Override
  public long usedBytes() {
    return index.usedBytes();
  }

  @Override
  public long reservedBytes() {
    return index.reservedBytes();
  }

  @Override
  public int entryCount() {
    return index.size();
  }

  @Override
  public boolean contains(Digest d) {
    return index.contains(d);
  }

  @Override
  public long sizeOf(Digest d) {
    return index.peekSize(d);
  }

  /** True while a recent write failure keeps this tier out of placements. */
  public boolean isBackingOff() {
    return clock.getAsLong() < unwritableUntil;
  }

  /** Why this tier cannot take {@code bytes} more now, or null if it can (budget aside). */
  String refusal(long bytes) {
    if (isBackingOff()) {
      return "a write failed there recently";
    }
    if (bytes > index.maxBytes()) {
      return "the blob (" + bytes + " bytes) is larger than its budget (" + index.maxBytes() + ")";
    }
    if (minFree > 0 || bytes > 0) {
      try {
        long usable = space.usableBytes(store.root());
        if (usable - bytes < minFree) {
          return "its file system has " + usable + " bytes free and the floor is " + minFree;
        }
      } catch (IOException e) {
        return "its free space cannot be read: " + e;
      }
    }
    return null;
  }

  @Override
  public Reservation reserve(long bytes) {
    return reserve(bytes, null);
  }

  /** {@link #reserve(long)} that adds the reason to {@code whyNot} when it returns null. */
  Reservation reserve(long bytes, List<String> whyNot) {
    String refusal = refusal(bytes);
    List<LruIndex.Entry> victims = refusal == null ? index.reserve(bytes) : null;
    if (victims == null) {
      if (whyNot != null) {
        whyNot.add(name + ": " + (refusal != null ? refusal
            : "its budget is taken by fetches in progress and blobs being moved"));
      }
      return null;
    }
    if (!victims.isEmpty()) {
      evictor.accept(victims);
    }
    return new Reservation(index, name, bytes, evictor);
  }

  /** Creates an empty temp file for {@code d} in this tier's {@code tmp/}; proves it writable. */
  public Path createTemp(Digest d) throws IOException {
    Path p = store.newTempPath(d);
    try {
      Files.createFile(p);
    } catch (IOException e) {
      writeFailed(e);
      throw e;
    }
    return p;
  }

  /** A write to this tier failed: skip it in placements for a while. */
  public void writeFailed(IOException e) {
    unwritableUntil = clock.getAsLong() + WRITE_FAILURE_BACKOFF_MILLIS;
    meters.tierWriteFailure(name);
    log.warn("tier {} ({}): write failed ({}); not placing blobs there for {} s", name,
        store.root(), e.toString(), WRITE_FAILURE_BACKOFF_MILLIS / 1000);
  }

  @Override
  public void commit(Reservation r, Digest d, Path verifiedFile) throws IOException {
    if (r.index() != index) {
      throw new IllegalArgumentException("reservation of tier " + r.tier() + " used in " + name);
    }
    long size;
    try {
      size = Files.size(verifiedFile);
      if (!verifiedFile.getParent().equals(store.root().resolve("tmp"))) {
        // A copy from another tier: into our tmp/ first, fsynced, so the rename stays atomic.
        Path tmp = store.newTempPath(d);
        copyDurably(verifiedFile, tmp);
        verifiedFile = tmp;
      }
      store.commitBlob(verifiedFile, d);
    } catch (IOException | RuntimeException e) {
      r.release();
      if (e instanceof IOException io) {
        writeFailed(io);
      }
      throw e;
    }
    List<LruIndex.Entry> victims = new ArrayList<>();
    index.add(d, size, r.take(), clock.getAsLong(), victims);
    if (!victims.isEmpty()) {
      evictor.accept(victims);
    }
  }

  private static void copyDurably(Path from, Path to) throws IOException {
    try (FileChannel in = FileChannel.open(from, StandardOpenOption.READ);
        FileChannel out =
            FileChannel.open(to, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
      long size = in.size();
      long pos = 0;
      while (pos < size) {
        pos += in.transferTo(pos, size - pos, out);
      }
      out.force(true);
    } catch (IOException e) {
      Files.deleteIfExists(to);
      throw e;
    }
  }

  /**
   * Opens {@code d} for reading if this tier holds it, counting a hit. A file that vanished under
   * a present entry (removed by hand) is dropped from the index.
   */
  Opened open(Digest d) throws IOException {
    long now = clock.getAsLong();
    LruIndex.Hit hit = index.hit(d, now, TOUCH_EVERY_MILLIS);
    if (hit == null) {
      return null;
    }
    Path p = store.blobPath(d);
    SharedFile f;
    try {
      f = store.openShared(d);
    } catch (NoSuchFileException e) {
      if (hit.state() == LruIndex.State.PRESENT) {
        log.warn("tier {}: blob {} is indexed but its file is gone; forgetting it", name, d);
        index.remove(d);
      }
      return null; // an evicting or promoting entry: it is indexed in its next tier already
    }
    if (hit.touchDue()) {
      try {
        Files.setLastModifiedTime(p, FileTime.fromMillis(now));
      } catch (IOException e) {
        log.debug("cannot refresh the time of {}: {}", p, e.toString());
      }
    }
    return new Opened(f, hit);
  }

  /** A blob opened in this tier and what the hit saw. */
  record Opened(SharedFile file, LruIndex.Hit hit) {}

  Path blobPath(Digest d) {
    return store.blobPath(d);
  }

  @Override
  public void delete(Digest d) throws IOException {
    index.remove(d);
    if (store.isManifest(d)) {
      return; // the same bytes are a stored manifest, which outlives blob eviction
    }
    store.forgetOpen(d); // readers keep their descriptor; a later store of d opens the new file
    Files.deleteIfExists(store.blobPath(d));
  }

  /** Releases the directory lock. */
  public void close() {
    store.close();
  }
}
