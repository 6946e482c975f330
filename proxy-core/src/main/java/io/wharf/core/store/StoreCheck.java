package io.wharf.core.store;

import io.wharf.core.oci.Digest;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.MessageDigest;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * Offline integrity check of disk tiers ({@code wharf fsck}): re-hashes every file under each
 * tier's {@code blobs/} and compares it with the digest its path names.
 *
 * <h2>Design</h2>
 *
 * <p>Every tier's lock is taken before anything is read, and held until the check ends, so the
 * check never races a running Wharf (which would be moving, demoting and deleting files) and no
 * Wharf can start on the store meanwhile; a store in use is refused with {@link
 * StoreLockedException}. A file whose content does not hash to its name, whose path is not {@code
 * blobs/<algorithm>/<2 hex>/<hex>} of a valid digest, or that is not a regular file is a problem.
 * With {@code repair}, problems are moved (renamed, never deleted: the operator decides) to {@code
 * quarantine/<run time>/<path under the tier>} of the same tier, and leftover files in {@code
 * tmp/} (fetches cut by a crash) are removed; without it nothing is changed. Quarantined bytes
 * are outside {@code blobs/}, so they are neither indexed nor counted in the tier's budget.
 *
 * <p>Blocking and single-threaded: it reads every byte of the store once (one sequential pass per
 * file, 1 MiB reads), which suits spinning disks; expect hours for terabytes.
 */
public final class StoreCheck {
  private static final int READ_BUFFER = 1 << 20;

  private StoreCheck() {}

  /** One bad file. */
  public record Problem(Path file, String reason, Path quarantinedTo) {}

  /** What was found in one tier. */
  public record TierReport(
      String tier, Path root, long files, long bytes, List<Problem> mismatches,
      List<Problem> badFiles, int quarantined, int tempFiles, int tempFilesRemoved) {

    /** Files whose content or name is wrong. */
    public int corrupt() {
      return mismatches.size() + badFiles.size();
    }
  }

  /** What the whole check found. */
  public record Report(List<TierReport> tiers, long nanos, boolean repaired) {
    public long files() {
      return tiers.stream().mapToLong(TierReport::files).sum();
    }

    public long bytes() {
      return tiers.stream().mapToLong(TierReport::bytes).sum();
    }

    public int corrupt() {
      return tiers.stream().mapToInt(TierReport::corrupt).sum();
    }

    public int quarantined() {
      return tiers.stream().mapToInt(TierReport::quarantined).sum();
    }
  }

  /** Told after each file; implementations throttle their own output. */
  public interface Progress {
    void update(String tier, long files, long totalFiles, long bytes, long totalBytes);
  }

  /**
   * Checks the disk tiers at {@code roots} (named {@code disk0}, {@code disk1}, … in that order).
   *
   * @throws StoreLockedException if any of them is in use (nothing is checked then)
   * @throws StoreException if one is missing, of another format version, or unreadable
   */
  public static Report check(List<Path> roots, boolean repair, Progress progress) {
    long t0 = System.nanoTime();
    List<DiskStore> stores = new ArrayList<>();
    try {
      for (Path r : roots) {
        stores.add(DiskStore.openForCheck(r));
      }
      String run = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss").withZone(ZoneOffset.UTC)
          .format(Instant.now());
      List<TierReport> reports = new ArrayList<>();
      for (int i = 0; i < stores.size(); i++) {
        try {
          reports.add(checkTier("disk" + i, stores.get(i), repair, run, progress));
        } catch (IOException e) {
          throw new StoreException(
              "checking " + stores.get(i).root() + " failed: " + e, e);
        }
      }
      return new Report(reports, System.nanoTime() - t0, repair);
    } finally {
      stores.forEach(DiskStore::close);
    }
  }

  private record Candidate(Path file, Digest digest, boolean regular, long size) {}

  private static TierReport checkTier(
      String tier, DiskStore store, boolean repair, String run, Progress progress)
      throws IOException {
    Path root = store.root();
    int temps = 0;
    int tempsRemoved = 0;
    Path tmp = root.resolve("tmp");
    if (Files.isDirectory(tmp)) {
      try (DirectoryStream<Path> ds = Files.newDirectoryStream(tmp)) {
        for (Path p : ds) {
          temps++;
          // Wharf's temp files are plain files; anything else is not ours to delete.
          if (repair && Files.isRegularFile(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)
              && Files.deleteIfExists(p)) {
            tempsRemoved++;
          }
        }
      }
    }
    // First pass: names and sizes only, so progress can say how far along the hashing is.
    Path blobs = root.resolve("blobs");
    List<Candidate> candidates = new ArrayList<>();
    if (Files.isDirectory(blobs)) {
      Files.walkFileTree(blobs, new SimpleFileVisitor<>() {
        @Override
        public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
          candidates.add(new Candidate(file, DiskStore.digestOf(blobs.relativize(file)),
              attrs.isRegularFile(), attrs.size()));
          return FileVisitResult.CONTINUE;
        }

        @Override
        public FileVisitResult visitFileFailed(Path file, IOException e) throws IOException {
          throw e;
        }
      });
    }
    long totalBytes = candidates.stream().filter(Candidate::regular).mapToLong(Candidate::size)
        .sum();
    List<Problem> mismatches = new ArrayList<>();
    List<Problem> bad = new ArrayList<>();
    int quarantined = 0;
    long files = 0;
    long bytes = 0;
    ByteBuffer buf = ByteBuffer.allocateDirect(READ_BUFFER);
    for (Candidate c : candidates) {
      String why = null;
      boolean mismatch = false;
      if (c.digest() == null) {
        why = "its path is not blobs/<algorithm>/<2 hex>/<hex> of a valid digest";
      } else if (!c.regular()) {
        why = "it is not a regular file";
      } else {
        MessageDigest md = c.digest().newHasher();
        long n = hash(c.file(), md, buf);
        files++;
        bytes += n;
        byte[] actual = md.digest();
        if (!c.digest().matches(actual)) {
          mismatch = true;
          why = "its content (" + n + " bytes) hashes to " + c.digest().algorithm() + ":"
              + HexFormat.of().formatHex(actual);
        }
      }
      if (why != null) {
        Path to = null;
        if (repair) {
          to = quarantine(root, c.file(), run);
          quarantined++;
        }
        (mismatch ? mismatches : bad).add(new Problem(c.file(), why, to));
      }
      progress.update(tier, files, candidates.size(), bytes, totalBytes);
    }
    return new TierReport(tier, root, files, bytes, List.copyOf(mismatches), List.copyOf(bad),
        quarantined, temps, tempsRemoved);
  }

  private static long hash(Path file, MessageDigest md, ByteBuffer buf) throws IOException {
    long n = 0;
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      for (buf.clear(); ch.read(buf) >= 0; buf.clear()) {
        buf.flip();
        n += buf.remaining();
        md.update(buf);
      }
    }
    return n;
  }

  /** Renames {@code file} to {@code quarantine/<run>/<its path under root>}; durable. */
  private static Path quarantine(Path root, Path file, String run) throws IOException {
    Path to = root.resolve("quarantine").resolve(run).resolve(root.relativize(file));
    Files.createDirectories(to.getParent());
    try {
      Files.move(file, to, StandardCopyOption.ATOMIC_MOVE);
    } catch (AtomicMoveNotSupportedException e) {
      throw new IOException("cannot move " + file + " into quarantine atomically: " + e, e);
    }
    DiskStore.fsyncDir(to.getParent());
    DiskStore.fsyncDir(file.getParent());
    return to;
  }
}
