package io.wharf.core.store;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.wharf.core.oci.Digest;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.nio.file.FileVisitResult;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Content-addressed store on one disk directory.
 *
 * <pre>
 * root/
 *   wharf-store.json         {"formatVersion": 1}; checked at start-up
 *   .lock                    held (fcntl) while an instance uses the store
 *   tmp/                     fetches in progress; emptied at start-up
 *   blobs/sha256/ab/abcd…    blob and manifest bytes, named by their digest
 *   manifests/sha256/ab/abcd….type   media type of a stored manifest
 *   tags/ab/abcd….json       tag records, named by sha256 of (upstream, repo, tag, accept class)
 * </pre>
 *
 * <p>Every path is derived from a validated {@link Digest}, never from a name or tag string.
 * Commits are durable: the writer fsyncs the file, this class renames it atomically into place
 * and fsyncs the directory. All methods block: call them from a disk executor, never an event
 * loop.
 */
public final class DiskStore implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(DiskStore.class);

  public static final int FORMAT_VERSION = 1;
  private static final String FORMAT_FILE = "wharf-store.json";
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final SecureRandom RANDOM = new SecureRandom();

  private final Path root;
  private final Path tmp;
  private final Path blobs;
  private final Path manifests;
  private final Path tags;
  private final FileChannel lockChannel;
  private final FileLock lock;
  private final OpenBlobFiles openFiles = new OpenBlobFiles();

  private DiskStore(Path root, FileChannel lockChannel, FileLock lock) {
    this.root = root;
    this.tmp = root.resolve("tmp");
    this.blobs = root.resolve("blobs");
    this.manifests = root.resolve("manifests");
    this.tags = root.resolve("tags");
    this.lockChannel = lockChannel;
    this.lock = lock;
  }

  /**
   * Opens (creating if needed) the store at {@code root}: takes the lock, checks the format
   * version, and empties {@code tmp/}.
   */
  public static DiskStore open(Path root) {
    Path abs = root.toAbsolutePath().normalize();
    try {
      Files.createDirectories(abs);
    } catch (IOException e) {
      throw new StoreException("cannot open store " + abs + ": " + e, e);
    }
    return locked(abs, store -> {
      store.checkFormat(true);
      store.cleanTmp();
      Files.createDirectories(store.blobs);
      Files.createDirectories(store.manifests);
      Files.createDirectories(store.tags);
    });
  }

  /**
   * Opens an existing store for an offline check ({@code wharf fsck}): takes the lock and checks
   * the format version, but creates and removes nothing, so a store Wharf is using is refused
   * ({@link StoreLockedException}) and one that is not there is not made up.
   */
  public static DiskStore openForCheck(Path root) {
    Path abs = root.toAbsolutePath().normalize();
    if (!Files.isDirectory(abs)) {
      throw new StoreException("no store at " + abs + " (not a directory)", null);
    }
    if (!Files.isRegularFile(abs.resolve(FORMAT_FILE))) {
      // Checked before the lock file is made: a mistyped --store leaves no trace behind.
      throw new StoreException("no Wharf store at " + abs + " (it has no " + FORMAT_FILE + ")",
          null);
    }
    return locked(abs, store -> store.checkFormat(false));
  }

  /** What to do with a freshly locked store before handing it out. */
  private interface Setup {
    void run(DiskStore store) throws IOException;
  }

  /** Locks {@code abs} and runs {@code setup}; on any failure the lock is released again. */
  private static DiskStore locked(Path abs, Setup setup) {
    DiskStore store = null;
    try {
      store = lock(abs);
      setup.run(store);
      return store;
    } catch (IOException | RuntimeException e) {
      if (store != null) {
        store.close();
      }
      if (e instanceof RuntimeException re) {
        throw re;
      }
      throw new StoreException("cannot open store " + abs + ": " + e, e);
    }
  }

  /** Takes the store's lock (fcntl, released by {@link #close} or when the process dies). */
  private static DiskStore lock(Path abs) throws IOException {
    FileChannel lockChannel =
        FileChannel.open(abs.resolve(".lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
    FileLock lock;
    try {
      lock = lockChannel.tryLock();
    } catch (OverlappingFileLockException e) {
      lock = null; // held by this very process (another store object on the same directory)
    } catch (IOException | RuntimeException e) {
      closeQuietly(lockChannel);
      throw e;
    }
    if (lock == null) {
      closeQuietly(lockChannel);
      throw new StoreLockedException(
          "store " + abs + " is in use by another Wharf instance (lock file " + abs.resolve(".lock")
              + " is held)");
    }
    return new DiskStore(abs, lockChannel, lock);
  }

  private void checkFormat(boolean create) throws IOException {
    Path f = root.resolve(FORMAT_FILE);
    if (Files.exists(f)) {
      Map<?, ?> m = JSON.readValue(f.toFile(), Map.class);
      Object v = m.get("formatVersion");
      if (!(v instanceof Integer i) || i != FORMAT_VERSION) {
        throw new StoreException(
            "store " + root + " has format version " + v + "; this Wharf reads version "
                + FORMAT_VERSION + " (use a new directory or migrate)",
            null);
      }
    } else if (create) {
      writeAtomically(f, ("{\"formatVersion\":" + FORMAT_VERSION + "}\n").getBytes(StandardCharsets.UTF_8));
    }
  }

  private void cleanTmp() throws IOException {
    if (Files.isDirectory(tmp)) {
      int n = 0;
      try (DirectoryStream<Path> ds = Files.newDirectoryStream(tmp)) {
        for (Path p : ds) {
          Files.deleteIfExists(p);
          n++;
        }
      }
      if (n > 0) {
        log.info("removed {} leftover temp files from {}", n, tmp);
      }
    }
    Files.createDirectories(tmp);
  }

  public Path root() {
    return root;
  }

  /** {@code blobs/<alg>/<2 hex>/<hex>}. */
  public Path blobPath(Digest d) {
    return blobs.resolve(d.algorithm()).resolve(d.hex().substring(0, 2)).resolve(d.hex());
  }

  private Path manifestTypePath(Digest d) {
    return manifests.resolve(d.algorithm()).resolve(d.hex().substring(0, 2)).resolve(d.hex() + ".type");
  }

  Path tagPath(String keyHex) {
    return tags.resolve(keyHex.substring(0, 2)).resolve(keyHex + ".json");
  }

  /** Size of a stored blob, if present. */
  public Optional<Long> blobSize(Digest d) {
    try {
      return Optional.of(Files.size(blobPath(d)));
    } catch (NoSuchFileException e) {
      return Optional.empty();
    } catch (IOException e) {
      throw new StoreException("cannot stat blob " + d + ": " + e, e);
    }
  }

  /** Opens a stored blob for reading, if present; its readers share one descriptor. */
  public Optional<SharedFile> openBlob(Digest d) {
    try {
      return Optional.of(openShared(d));
    } catch (NoSuchFileException e) {
      return Optional.empty();
    } catch (IOException e) {
      throw new StoreException("cannot open blob " + d + ": " + e, e);
    }
  }

  /** A new unique temp file path for a fetch of {@code d} (not created). */
  public Path newTempPath(Digest d) {
    byte[] r = new byte[6];
    RANDOM.nextBytes(r);
    return tmp.resolve(d.hex() + "." + HexFormat.of().formatHex(r));
  }

  /**
   * Moves a complete, verified, already fsynced temp file to its digest path and fsyncs the
   * directory. If the blob is already there (another path stored it), the temp file is removed.
   */
  public void commitBlob(Path tempFile, Digest d) {
    Path target = blobPath(d);
    try {
      Files.createDirectories(target.getParent());
      try {
        Files.move(tempFile, target, StandardCopyOption.ATOMIC_MOVE);
      } catch (FileAlreadyExistsException e) {
        Files.deleteIfExists(tempFile);
      } catch (AtomicMoveNotSupportedException e) {
        throw new StoreException("store " + root + " cannot rename atomically: " + e, e);
      }
      fsyncDir(target.getParent());
    } catch (IOException e) {
      throw new StoreException("cannot commit blob " + d + ": " + e, e);
    }
  }

  /** Stores a verified manifest: bytes by digest plus its media type. */
  public void putManifest(Digest d, byte[] body, String mediaType) {
    try {
      Path target = blobPath(d);
      if (!Files.exists(target)) {
        Files.createDirectories(target.getParent());
        writeAtomically(target, body);
      }
      Path type = manifestTypePath(d);
      Files.createDirectories(type.getParent());
      writeAtomically(type, mediaType.getBytes(StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new StoreException("cannot store manifest " + d + ": " + e, e);
    }
  }

  /** True if manifest {@code d} is stored (not re-verified; blocking). */
  public boolean hasManifest(Digest d) {
    return Files.exists(manifestTypePath(d));
  }

  /**
   * A reference to the stored blob {@code d}, one descriptor shared by all its current readers;
   * {@link java.nio.file.NoSuchFileException} if it is not stored. The caller releases it.
   */
  SharedFile openShared(Digest d) throws IOException {
    return openFiles.open(d, blobPath(d));
  }

  /** The file of {@code d} is being deleted or replaced: later readers open it afresh. */
  void forgetOpen(Digest d) {
    openFiles.forget(d);
  }

  /** Stored blobs open for reading now (tests, diagnostics). */
  int openBlobCount() {
    return openFiles.size();
  }

  /** A stored manifest, re-verified against its digest (a corrupt file is removed, not served). */
  public Optional<StoredManifest> getManifest(Digest d) {
    try {
      Path typePath = manifestTypePath(d);
      if (!Files.exists(typePath)) {
        return Optional.empty();
      }
      byte[] body = Files.readAllBytes(blobPath(d));
      if (!d.matches(d.newHasher().digest(body))) {
        log.error("stored manifest {} does not match its digest; removing it", d);
        forgetOpen(d);
        Files.deleteIfExists(blobPath(d));
        Files.deleteIfExists(typePath);
        return Optional.empty();
      }
      String type = Files.readString(typePath, StandardCharsets.UTF_8).strip();
      if (!io.wharf.core.oci.MediaTypes.isValid(type)) {
        log.error("stored manifest {} has an invalid media type; removing it", d);
        Files.deleteIfExists(typePath);
        return Optional.empty();
      }
      return Optional.of(new StoredManifest(body, type, d));
    } catch (NoSuchFileException e) {
      return Optional.empty();
    } catch (IOException e) {
      throw new StoreException("cannot read manifest " + d + ": " + e, e);
    }
  }

  /** Writes {@code bytes} to {@code target} durably: temp file, fsync, rename, fsync directory. */
  void writeAtomically(Path target, byte[] bytes) throws IOException {
    Files.createDirectories(tmp);
    byte[] r = new byte[6];
    RANDOM.nextBytes(r);
    Path t = tmp.resolve("w." + HexFormat.of().formatHex(r));
    try (FileChannel ch =
        FileChannel.open(t, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
      ByteBuffer buf = ByteBuffer.wrap(bytes);
      while (buf.hasRemaining()) {
        ch.write(buf);
      }
      ch.force(true);
    }
    try {
      Files.move(t, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException e) {
      Files.deleteIfExists(t);
      throw e;
    }
    fsyncDir(target.getParent());
  }

  static void fsyncDir(Path dir) throws IOException {
    try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
      ch.force(true);
    }
  }

  @Override
  public void close() {
    try {
      lock.release();
    } catch (IOException e) {
      log.warn("releasing store lock failed: {}", e.toString());
    }
    closeQuietly(lockChannel);
  }

  private static void closeQuietly(FileChannel ch) {
    if (ch != null) {
      try {
        ch.close();
      } catch (IOException ignored) {
        // nothing to do
      }
    }
  }

  /** Removes a stored manifest (bytes and media type); false if there was none. Blocking. */
  public boolean deleteManifest(Digest d) {
    try {
      boolean had = Files.deleteIfExists(manifestTypePath(d));
      if (had) {
        forgetOpen(d);
        Files.deleteIfExists(blobPath(d));
        fsyncDir(blobPath(d).getParent());
      }
      return had;
    } catch (IOException e) {
      throw new StoreException("cannot delete manifest " + d + ": " + e, e);
    }
  }

  /** True if {@code d} is stored as a manifest here (its bytes are then not a tier's to evict). */
  public boolean isManifest(Digest d) {
    return Files.exists(manifestTypePath(d));
  }

  /** One blob file found by {@link #scanBlobs}. */
  public record ScannedBlob(Digest digest, long size, long lastUsedMillis) {}

  /** What {@link #scanBlobs} found. */
  public record ScanResult(List<ScannedBlob> blobs, int removed) {}

  /**
   * Lists every blob under {@code blobs/} whose path is exactly {@code <alg>/<2 hex>/<hex>} for a
   * valid digest, as a regular file; every other file there (wrong name, wrong directory, symbolic
   * link, an empty file not named by the empty digest) is deleted, never trusted. Manifests are
   * skipped: they are no tier's to evict. Recency is the later of the file's access and
   * modification times (Wharf refreshes the modification time of blobs it serves, so this works
   * on {@code noatime} mounts too). Contents are not hashed here: files only reach their digest
   * path after verification, fsync and an atomic rename. Blocking.
   */
  public ScanResult scanBlobs() throws IOException {
    Set<String> manifestHex = new HashSet<>();
    if (Files.isDirectory(manifests)) {
      Files.walkFileTree(manifests, new SimpleFileVisitor<>() {
        @Override
        public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
          String n = file.getFileName().toString();
          if (n.endsWith(".type")) {
            manifestHex.add(file.getParent().getParent().getFileName() + ":"
                + n.substring(0, n.length() - 5));
          }
          return FileVisitResult.CONTINUE;
        }
      });
    }
    List<ScannedBlob> found = new ArrayList<>();
    int[] removed = new int[1];
    if (!Files.isDirectory(blobs)) {
      return new ScanResult(found, 0);
    }
    Files.walkFileTree(blobs, new SimpleFileVisitor<>() {
      @Override
      public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
        Digest d = digestOf(blobs.relativize(file));
        String why = null;
        if (d == null) {
          why = "its path is not blobs/<algorithm>/<2 hex>/<hex>";
        } else if (!attrs.isRegularFile()) {
          why = "it is not a regular file";
        } else if (attrs.size() == 0 && !d.equals(EMPTY)) {
          why = "it is empty but named by a non-empty digest";
        }
        if (why != null) {
          log.warn("removing {}: {}", file, why);
          Files.deleteIfExists(file);
          removed[0]++;
          return FileVisitResult.CONTINUE;
        }
        if (manifestHex.contains(d.algorithm() + ":" + d.hex())) {
          return FileVisitResult.CONTINUE;
        }
        long used = Math.max(attrs.lastAccessTime().toMillis(), attrs.lastModifiedTime().toMillis());
        found.add(new ScannedBlob(d, attrs.size(), used));
        return FileVisitResult.CONTINUE;
      }

      @Override
      public FileVisitResult visitFileFailed(Path file, IOException e) {
        log.warn("cannot read {} while scanning the store: {}", file, e.toString());
        return FileVisitResult.CONTINUE;
      }
    });
    return new ScanResult(found, removed[0]);
  }

  private static final Digest EMPTY = Digest.sha256Of(new byte[0]);

  /** The digest a path relative to {@code blobs/} names, or null if its shape is wrong. */
  static Digest digestOf(Path rel) {
    if (rel.getNameCount() != 3) {
      return null;
    }
    String alg = rel.getName(0).toString();
    String prefix = rel.getName(1).toString();
    String hex = rel.getName(2).toString();
    if (hex.length() < 2 || !hex.startsWith(prefix) || prefix.length() != 2) {
      return null;
    }
    try {
      return new Digest(alg, hex);
    } catch (RuntimeException e) {
      return null;
    }
  }

  /** A manifest read back from the store. */
  public record StoredManifest(byte[] body, String mediaType, Digest digest) {}
}
