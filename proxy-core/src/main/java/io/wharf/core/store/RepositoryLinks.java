package io.wharf.core.store;

import io.wharf.core.oci.Digest;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;
import java.util.zip.CRC32;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Which repositories of which upstream reference which digests: the record that decides whether a
 * cached blob or manifest may be served through a repository name (knowing a digest is not
 * enough; see SECURITY.md).
 *
 * <h2>Design</h2>
 *
 * <p><b>Memory.</b> Each (upstream, repository) gets a small integer id; a link is (id, digest)
 * in one concurrent set. Look-ups are lock-free and never touch the disk, so the server may ask
 * on any thread.
 *
 * <p><b>Disk</b> ({@code links/} in the primary store): a snapshot ({@code links.snap}) and an
 * append-only journal ({@code links.journal}). Both are sequences of frames {@code [int length]
 * [payload] [int crc32(payload)]}; a payload is either a repository definition {@code 'R' id
 * upstream repository} or a link {@code 'L' id algorithm hash-bytes} (36 bytes for sha256 plus
 * the frame). New links are added to memory at once and appended to the journal by one writer at a
 * time on the disk executor, many per {@code fsync} (group commit). A torn tail (crash mid-append)
 * fails its length or CRC check and is cut off at start-up. Losing the last links before a crash
 * is safe: an unlinked digest is confirmed upstream again, never served blindly.
 *
 * <p><b>Compaction.</b> At start-up, and whenever the journal outgrows the snapshot (and 4 MiB),
 * the writer writes a new snapshot of what is in memory — dropping links whose digest is no longer
 * stored ({@code stillStored}) — to a temp file, fsyncs it, renames it over the old one, fsyncs
 * the directory and only then empties the journal. A crash between the rename and the truncation
 * replays the journal over the new snapshot, which is harmless (links are a set). Links added while
 * a snapshot is written are still queued for the journal, so none is lost.
 *
 * <p><b>Bound.</b> At most {@code maxLinks} links are kept (default 1,000,000, about 150 bytes
 * of heap each); past it, new links are not recorded (logged, counted by {@link #refused()}) and
 * such content is confirmed upstream per request instead — slower, never less safe.
 */
public final class RepositoryLinks implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(RepositoryLinks.class);
  public static final int DEFAULT_MAX_LINKS = 1_000_000;
  static final String SNAPSHOT = "links.snap";
  static final String JOURNAL = "links.journal";
  private static final long MIN_COMPACT_BYTES = 4L << 20;
  private static final int MAX_FRAME = 4096;

  /** One repository of one upstream. */
  record RepoKey(String upstream, String repository) {}

  private record Link(int repo, Digest digest) {}

  private final Path dir;
  private final Executor diskExecutor;
  private final Predicate<Digest> stillStored;
  private final int maxLinks;
  private final Map<RepoKey, Integer> ids = new ConcurrentHashMap<>();
  private final Map<Integer, RepoKey> byId = new ConcurrentHashMap<>();
  private final AtomicInteger nextId = new AtomicInteger(1);
  private final Set<Link> links = ConcurrentHashMap.newKeySet();
  private final AtomicLong count = new AtomicLong();
  private final AtomicLong refused = new AtomicLong();
  private final ConcurrentLinkedQueue<Link> queue = new ConcurrentLinkedQueue<>();
  private final AtomicBoolean flushScheduled = new AtomicBoolean();
  private final Object writerLock = new Object();
  /** Repository ids whose definition is in the current snapshot or journal (writer only). */
  private final Set<Integer> persistedRepos = ConcurrentHashMap.newKeySet();
  private FileChannel journal;
  private long snapshotBytes;
  private volatile boolean closed;
  private volatile long lastRefusalLog;

  private RepositoryLinks(Path dir, Executor diskExecutor, Predicate<Digest> stillStored,
      int maxLinks) {
    this.dir = dir;
    this.diskExecutor = diskExecutor;
    this.stillStored = stillStored;
    this.maxLinks = maxLinks;
  }

  /**
   * Loads the links under {@code dir} (creating it), compacts them, and opens the journal.
   * Blocking: call at start-up, off any event loop.
   */
  public static RepositoryLinks open(Path dir, Executor diskExecutor, Predicate<Digest> stillStored) {
    return open(dir, diskExecutor, stillStored, DEFAULT_MAX_LINKS);
  }

  public static RepositoryLinks open(Path dir, Executor diskExecutor, Predicate<Digest> stillStored,
      int maxLinks) {
    RepositoryLinks l = new RepositoryLinks(dir, diskExecutor, stillStored, maxLinks);
    try {
      Files.createDirectories(dir);
      long t0 = System.nanoTime();
      l.load(dir.resolve(SNAPSHOT), false);
      l.load(dir.resolve(JOURNAL), true);
      synchronized (l.writerLock) {
        l.compact();
      }
      log.info("repository links: {} links of {} repositories loaded in {} ms", l.count.get(),
          l.ids.size(), (System.nanoTime() - t0) / 1_000_000);
    } catch (IOException e) {
      throw new StoreException("cannot open repository links in " + dir + ": " + e, e);
    }
    return l;
  }

  /** True if {@code repository} of {@code upstream} is known to reference {@code digest}. */
  public boolean isLinked(String upstream, String repository, Digest digest) {
    Integer id = ids.get(new RepoKey(upstream, repository));
    return id != null && links.contains(new Link(id, digest));
  }

  /**
   * Records that {@code repository} of {@code upstream} references each of {@code digests}.
   * Returns at once; the journal is written shortly after on the disk executor.
   */
  public void link(String upstream, String repository, List<Digest> digests) {
    if (closed || digests.isEmpty()) {
      return;
    }
    int id = ids.computeIfAbsent(new RepoKey(upstream, repository), k -> {
      int n = nextId.getAndIncrement();
      byId.put(n, k);
      return n;
    });
    boolean added = false;
    for (Digest d : digests) {
      Link l = new Link(id, d);
      if (links.contains(l)) {
        continue;
      }
      if (count.get() >= maxLinks) {
        refused.incrementAndGet();
        long now = System.currentTimeMillis();
        if (now - lastRefusalLog > 60_000) {
          lastRefusalLog = now;
          log.warn("repository links are full ({} links): content of newly seen repositories is"
              + " confirmed upstream on every request until older content is evicted", maxLinks);
        }
        continue;
      }
      if (links.add(l)) {
        count.incrementAndGet();
        queue.add(l);
        added = true;
      }
    }
    if (added && flushScheduled.compareAndSet(false, true)) {
      try {
        diskExecutor.execute(this::flush);
      } catch (java.util.concurrent.RejectedExecutionException e) {
        // Shutting down (close() flushes) or the disk queue is full (the next link retries).
        flushScheduled.set(false);
      }
    }
  }

  /** Number of links held. */
  public long size() {
    return count.get();
  }

  /** Links not recorded because the bound was reached. */
  public long refused() {
    return refused.get();
  }

  /** Writes every queued link to the journal and fsyncs it (blocking; tests and shutdown). */
  public void flush() {
    flushScheduled.set(false);
    synchronized (writerLock) {
      if (journal == null) {
        return;
      }
      try {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        Link l;
        while ((l = queue.poll()) != null) {
          if (!links.contains(l)) {
            continue; // pruned meanwhile
          }
          if (persistedRepos.add(l.repo())) {
            frame(buf, repoPayload(l.repo(), byId.get(l.repo())));
          }
          frame(buf, linkPayload(l));
        }
        if (buf.size() == 0) {
          return;
        }
        ByteBuffer bb = ByteBuffer.wrap(buf.toByteArray());
        while (bb.hasRemaining()) {
          journal.write(bb);
        }
        journal.force(false);
        if (journal.size() > Math.max(MIN_COMPACT_BYTES, snapshotBytes)) {
          compact();
        }
      } catch (IOException e) {
        // The links stay in memory; after a restart unlinked content is confirmed upstream again.
        log.warn("cannot write repository links journal in {}: {}", dir, e.toString());
      }
    }
  }

  /** Writes a snapshot of memory (minus links to content no longer stored), then empties the journal. */
  private void compact() throws IOException {
    long t0 = System.nanoTime();
    List<Link> dropped = new ArrayList<>();
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    Set<Integer> defined = new java.util.HashSet<>();
    Map<Digest, Boolean> stored = new java.util.HashMap<>();
    for (Link l : links) {
      if (!stored.computeIfAbsent(l.digest(), stillStored::test)) {
        dropped.add(l);
        continue;
      }
      if (defined.add(l.repo())) {
        frame(buf, repoPayload(l.repo(), byId.get(l.repo())));
      }
      frame(buf, linkPayload(l));
    }
    Path tmp = dir.resolve(SNAPSHOT + ".tmp");
    try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE,
        StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
      ByteBuffer bb = ByteBuffer.wrap(buf.toByteArray());
      while (bb.hasRemaining()) {
        ch.write(bb);
      }
      ch.force(true);
    }
    Files.move(tmp, dir.resolve(SNAPSHOT), StandardCopyOption.ATOMIC_MOVE,
        StandardCopyOption.REPLACE_EXISTING);
    DiskStore.fsyncDir(dir);
    snapshotBytes = buf.size();
    if (journal == null) {
      journal = FileChannel.open(dir.resolve(JOURNAL), StandardOpenOption.CREATE,
          StandardOpenOption.WRITE);
    }
    journal.truncate(0);
    journal.position(0);
    journal.force(true);
    persistedRepos.clear();
    persistedRepos.addAll(defined);
    for (Link l : dropped) {
      if (links.remove(l)) {
        count.decrementAndGet();
      }
    }
    log.debug("repository links compacted: {} kept, {} dropped (content gone), {} bytes, {} ms",
        count.get(), dropped.size(), snapshotBytes, (System.nanoTime() - t0) / 1_000_000);
  }

  private void load(Path file, boolean cutTornTail) throws IOException {
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      return;
    }
    ByteBuffer bb = ByteBuffer.wrap(bytes);
    int good = 0;
    while (bb.remaining() >= 4) {
      int len = bb.getInt();
      if (len <= 0 || len > MAX_FRAME || bb.remaining() < len + 4) {
        break;
      }
      byte[] payload = new byte[len];
      bb.get(payload);
      CRC32 crc = new CRC32();
      crc.update(payload);
      if ((int) crc.getValue() != bb.getInt()) {
        break;
      }
      try {
        apply(ByteBuffer.wrap(payload));
      } catch (RuntimeException e) {
        break;
      }
      good = bb.position();
    }
    if (good < bytes.length) {
      log.warn("repository links file {}: {} bytes after offset {} are torn or corrupt; {}",
          file, bytes.length - good, good, cutTornTail ? "cutting them off" : "ignoring them");
      if (cutTornTail) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
          ch.truncate(good);
          ch.force(true);
        }
      }
    }
  }

  private void apply(ByteBuffer p) {
    byte type = p.get();
    int id = p.getInt();
    if (type == 'R') {
      RepoKey k = new RepoKey(string(p), string(p));
      byId.put(id, k);
      ids.put(k, id);
      nextId.accumulateAndGet(id + 1, Math::max);
    } else if (type == 'L') {
      if (!byId.containsKey(id)) {
        throw new IllegalStateException("link to undefined repository " + id);
      }
      String alg = p.get() == 1 ? "sha256" : "sha512";
      byte[] hash = new byte[p.remaining()];
      p.get(hash);
      if (links.add(new Link(id, new Digest(alg, HexFormat.of().formatHex(hash))))) {
        count.incrementAndGet();
      }
    } else {
      throw new IllegalStateException("unknown record type " + type);
    }
  }

  private static String string(ByteBuffer p) {
    int n = p.getShort() & 0xffff;
    byte[] b = new byte[n];
    p.get(b);
    return new String(b, StandardCharsets.UTF_8);
  }

  private static byte[] repoPayload(int id, RepoKey k) {
    try {
      ByteArrayOutputStream b = new ByteArrayOutputStream();
      DataOutputStream out = new DataOutputStream(b);
      out.writeByte('R');
      out.writeInt(id);
      writeString(out, k.upstream());
      writeString(out, k.repository());
      return b.toByteArray();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static void writeString(DataOutputStream out, String s) throws IOException {
    byte[] b = s.getBytes(StandardCharsets.UTF_8);
    out.writeShort(b.length);
    out.write(b);
  }

  private static byte[] linkPayload(Link l) {
    byte[] hash = HexFormat.of().parseHex(l.digest().hex());
    ByteBuffer b = ByteBuffer.allocate(1 + 4 + 1 + hash.length);
    b.put((byte) 'L').putInt(l.repo()).put((byte) (l.digest().algorithm().equals("sha256") ? 1 : 2))
        .put(hash);
    return b.array();
  }

  private static void frame(ByteArrayOutputStream out, byte[] payload) {
    CRC32 crc = new CRC32();
    crc.update(payload);
    ByteBuffer b = ByteBuffer.allocate(8 + payload.length);
    b.putInt(payload.length).put(payload).putInt((int) crc.getValue());
    out.write(b.array(), 0, b.capacity());
  }

  @Override
  public void close() {
    flush();
    closed = true;
    synchronized (writerLock) {
      if (journal != null) {
        try {
          journal.close();
        } catch (IOException e) {
          log.debug("closing links journal: {}", e.toString());
        }
        journal = null;
      }
    }
  }
}
