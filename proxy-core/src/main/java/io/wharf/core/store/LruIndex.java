package io.wharf.core.store;

import io.wharf.core.oci.Digest;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;

/**
 * The byte-budgeted index of one tier: which blobs it holds, in least-recently-used order, and
 * how many bytes are committed, reserved for fetches in progress, and on their way out.
 *
 * <h2>Why not Caffeine</h2>
 *
 * Caffeine was the first choice and is what the manifest cache uses; for tier indexes it fights
 * the design in four ways ({@code CaffeineIndexFindingsTest} shows the first two):
 *
 * <ol>
 *   <li>W-TinyLFU admission may evict the entry just written in favour of an older, more often
 *       read one. A blob that was just fetched is exactly the one a thousand nodes are about to
 *       pull; evicting it at once means demoting it while they read.
 *   <li>Eviction is decided and reported asynchronously, after the entry has already left the
 *       map: between the two the blob is in no index although its file is still being copied. An
 *       explicit "moving" state would need a second map beside the cache.
 *   <li>The budget must include reservations (bytes of fetches in progress, which are no entries)
 *       and bytes already leaving; Caffeine's maximum is one number about entries only.
 *   <li>Weights are {@code int}, so sizes must be rounded (KiB), and the accounting is no longer
 *       exact bytes.
 * </ol>
 *
 * A {@link LinkedHashMap} in access order under one lock per tier does all of it in O(1) per
 * operation: look-ups run on the disk executor (never an event loop), the lock is held for
 * nanoseconds and never across I/O. Recency is plain LRU; promotion between tiers (see {@link
 * TieredStore}) is what protects frequently used blobs.
 *
 * <h2>Accounting</h2>
 *
 * <pre>
 *   used     = bytes of every entry (present, moving up, or evicting)
 *   leaving  = bytes of entries chosen for eviction whose files are not gone yet
 *   reserved = bytes promised to fetches or copies into this tier
 *   budget rule for every decision:  (used - leaving) + reserved &lt;= max
 * </pre>
 *
 * Counting leaving bytes as free lets a reservation proceed while its victims are copied down;
 * the directory may hold up to {@code leaving} bytes over budget for the duration of those copies.
 *
 * <p><b>Pins.</b> Entries the {@code pinned} predicate holds ({@link Pins}) are never chosen as
 * victims nor expired; their bytes still count as used. When only pinned entries could make
 * room, a reservation is refused and the fetch goes to the next tier.
 *
 * <p>Thread-safe; all methods synchronize on this index and do no I/O (the pinned predicate is a
 * lock-free look-up).
 */
final class LruIndex {

  /** Lifecycle of an entry. Every state is findable by look-ups. */
  enum State {
    /** In the tier, may be chosen for eviction. */
    PRESENT,
    /** Being copied to the tier above; not an eviction candidate. */
    PROMOTING,
    /** Chosen for eviction: its bytes count as leaving until {@link #remove}. */
    EVICTING
  }

  /** One blob in the tier. Mutable fields are guarded by the index. */
  static final class Entry {
    final Digest digest;
    final long size;
    State state = State.PRESENT;
    long lastAccessMillis;
    long touchedMillis;
    int hits;

    Entry(Digest digest, long size, long lastAccessMillis) {
      this.digest = digest;
      this.size = size;
      this.lastAccessMillis = lastAccessMillis;
      this.touchedMillis = lastAccessMillis;
    }

    @Override
    public String toString() {
      return digest.shortHex() + "(" + size + "B " + state + ")";
    }
  }

  /** What a hit saw: the entry's size and state and its hit count in this tier after this hit. */
  record Hit(long size, State state, int hits, boolean touchDue) {}

  private final long max;
  /** Pinned blobs: never chosen as victims nor expired (see {@link Pins}). */
  private final java.util.function.Predicate<Digest> pinned;
  private final LinkedHashMap<Digest, Entry> entries = new LinkedHashMap<>(1024, 0.75f, true);
  private long used;
  private long leaving;
  private long reserved;

  LruIndex(long maxBytes) {
    this(maxBytes, d -> false);
  }

  /** @param pinned blobs that stay where they are: no eviction, no expiry */
  LruIndex(long maxBytes, java.util.function.Predicate<Digest> pinned) {
    this.max = maxBytes;
    this.pinned = pinned;
  }

  /** True if {@code e} may be chosen for eviction or expiry. */
  private boolean evictable(Entry e) {
    return e.state == State.PRESENT && !pinned.test(e.digest);
  }

  long maxBytes() {
    return max;
  }

  synchronized long usedBytes() {
    return used;
  }

  synchronized long reservedBytes() {
    return reserved;
  }

  synchronized long leavingBytes() {
    return leaving;
  }

  synchronized int size() {
    return entries.size();
  }

  /** Bytes that may still be promised without evicting anything. */
  private long freeLocked() {
    return max - (used - leaving) - reserved;
  }

  /**
   * A hit: moves the entry to the most-recently-used end and counts it. Returns null if absent.
   * {@code touchDue} says the file's modification time is older than {@code touchEveryMillis}
   * and should be refreshed (the recency a restart reads back).
   */
  synchronized Hit hit(Digest d, long nowMillis, long touchEveryMillis) {
    Entry e = entries.get(d);
    if (e == null) {
      return null;
    }
    e.lastAccessMillis = nowMillis;
    e.hits++;
    boolean touch = nowMillis - e.touchedMillis >= touchEveryMillis;
    if (touch) {
      e.touchedMillis = nowMillis;
    }
    return new Hit(e.size, e.state, e.hits, touch);
  }

  /** The entry's size without touching recency, or -1. */
  synchronized long peekSize(Digest d) {
    Entry e = entries.get(d);
    return e == null ? -1 : e.size;
  }

  synchronized boolean contains(Digest d) {
    return entries.containsKey(d);
  }

  /**
   * Reserves {@code bytes}, choosing least-recently-used present entries as victims when the
   * budget needs them (they become {@link State#EVICTING}; the caller moves them out and then
   * calls {@link #remove}). Returns null, changing nothing, if even all evictable entries would
   * not make room.
   */
  synchronized List<Entry> reserve(long bytes) {
    if (bytes < 0) {
      throw new IllegalArgumentException("negative reservation " + bytes);
    }
    List<Entry> victims = victimsLocked(bytes);
    if (victims == null) {
      return null;
    }
    reserved += bytes;
    return victims;
  }

  /** Returns unused reserved bytes. */
  synchronized void release(long bytes) {
    if (bytes < 0 || bytes > reserved) {
      throw new IllegalStateException("releasing " + bytes + " of " + reserved + " reserved bytes");
    }
    reserved -= bytes;
  }

  /**
   * Turns {@code reservedBytes} of reservation into an entry of {@code size} bytes at the
   * most-recently-used end. If the entry is already there, only the reservation is returned and
   * false comes back. Victims needed because the blob outgrew its reservation are added to {@code
   * victimsOut} (possibly over budget if there are none to take: the bytes are on disk already).
   */
  synchronized boolean add(
      Digest d, long size, long reservedBytes, long nowMillis, List<Entry> victimsOut) {
    release(reservedBytes);
    if (entries.containsKey(d)) {
      return false;
    }
    if (size > freeLocked()) {
      List<Entry> v = victimsLocked(size);
      if (v != null) {
        victimsOut.addAll(v);
      }
    }
    entries.put(d, new Entry(d, size, nowMillis));
    used += size;
    return true;
  }

  /** Adds an entry found on disk at start-up (callers add oldest first). No budget check. */
  synchronized void load(Digest d, long size, long lastAccessMillis) {
    if (entries.putIfAbsent(d, new Entry(d, size, lastAccessMillis)) == null) {
      used += size;
    }
  }

  /** Removes the entry (evicted, promoted away, expired or vanished); false if absent. */
  synchronized boolean remove(Digest d) {
    Entry e = entries.remove(d);
    if (e == null) {
      return false;
    }
    used -= e.size;
    if (e.state == State.EVICTING) {
      leaving -= e.size;
    }
    return true;
  }

  /** Marks a present entry as moving up; false if it is absent or already moving. */
  synchronized boolean startPromotion(Digest d) {
    Entry e = entries.get(d);
    if (e == null || e.state != State.PRESENT) {
      return false;
    }
    e.state = State.PROMOTING;
    return true;
  }

  /** A promotion that did not happen: the entry is an ordinary entry again, its hits reset. */
  synchronized void cancelPromotion(Digest d) {
    Entry e = entries.get(d);
    if (e != null && e.state == State.PROMOTING) {
      e.state = State.PRESENT;
      e.hits = 0;
    }
  }

  /** Victims that bring the tier back within budget (e.g. after a restart with a smaller one). */
  synchronized List<Entry> overBudget() {
    if (freeLocked() >= 0) {
      return List.of();
    }
    List<Entry> v = victimsLocked(0);
    return v == null ? List.of() : v;
  }

  /** Marks and returns present entries last used before {@code cutoffMillis}. */
  synchronized List<Entry> expire(long cutoffMillis) {
    List<Entry> out = new ArrayList<>();
    for (Entry e : entries.values()) {
      if (evictable(e) && e.lastAccessMillis < cutoffMillis) {
        e.state = State.EVICTING;
        leaving += e.size;
        out.add(e);
      }
    }
    return out;
  }

  /** Least recently used first; for tests and diagnostics. */
  synchronized List<Digest> digestsLruFirst() {
    return new ArrayList<>(entries.keySet());
  }

  /** A blob's use in this tier, for the admin API's "top blobs". */
  record Usage(Digest digest, long size, int hits, long lastAccessMillis) {}

  /** The {@code n} entries with the most hits in this tier, most first. */
  synchronized List<Usage> topByHits(int n) {
    java.util.PriorityQueue<Entry> top =
        new java.util.PriorityQueue<>(java.util.Comparator.comparingInt((Entry e) -> e.hits));
    for (Entry e : entries.values()) {
      if (e.hits > 0) {
        top.add(e);
        if (top.size() > n) {
          top.poll();
        }
      }
    }
    List<Usage> out = new ArrayList<>();
    for (Entry e : top) {
      out.add(new Usage(e.digest, e.size, e.hits, e.lastAccessMillis));
    }
    out.sort(java.util.Comparator.comparingInt(Usage::hits).reversed());
    return out;
  }

  synchronized State state(Digest d) {
    Entry e = entries.get(d);
    return e == null ? null : e.state;
  }

  private List<Entry> victimsLocked(long need) {
    long free = freeLocked();
    if (need <= free) {
      return List.of();
    }
    long evictable = 0;
    for (Entry e : entries.values()) {
      if (evictable(e)) {
        evictable += e.size;
      }
    }
    if (free + evictable < need) {
      return null;
    }
    List<Entry> victims = new ArrayList<>();
    Iterator<Entry> it = entries.values().iterator(); // least recently used first
    while (free < need && it.hasNext()) {
      Entry e = it.next();
      if (!evictable(e)) {
        continue;
      }
      e.state = State.EVICTING;
      leaving += e.size;
      free += e.size;
      victims.add(e);
    }
    return victims;
  }
}
