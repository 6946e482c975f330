package io.wharf.core.store;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.wharf.core.metrics.WharfMeters;
import io.wharf.core.oci.Digest;

/**
 * The memory tier for small blobs (configs, tiny layers): verified bytes already on disk, copied
 * onto the heap so a hot small blob is served without a file open. Bytes are plain {@code byte[]}
 * (never pooled memory) and never modified; the server wraps them per response.
 *
 * <p>Unlike the disk tiers this is a Caffeine cache with its usual W-TinyLFU policy: here,
 * admission refusing a new entry is harmless — the blob stays on disk and is served from there —
 * and frequency-aware eviction keeps the blobs every node pulls (image configs) resident.
 */
public final class MemoryBlobCache {
  private final long maxObjectSize;
  private final long maxBytes;
  private final Cache<Digest, byte[]> cache;
  private final WharfMeters meters;

  public MemoryBlobCache(long maxBytes, long maxObjectSize, WharfMeters meters) {
    this.maxObjectSize = maxObjectSize;
    this.maxBytes = maxBytes;
    this.meters = meters;
    this.cache = Caffeine.newBuilder()
        .maximumWeight(maxBytes)
        .<Digest, byte[]>weigher((d, b) -> b.length + 96)
        .executor(Runnable::run)
        .build();
    meters.memoryTier(() -> cache.estimatedSize(),
        () -> cache.asMap().values().stream().mapToLong(b -> b.length).sum());
  }

  /** Whether a blob of {@code size} bytes belongs in memory. */
  public boolean fits(long size) {
    return size >= 0 && size <= maxObjectSize;
  }

  /** The cached bytes of {@code d}, counting a hit or miss. */
  public byte[] get(Digest d) {
    byte[] b = cache.getIfPresent(d);
    meters.tierLookup("memory", b == null ? "miss" : "hit");
    return b;
  }

  /** Keeps verified bytes of {@code d} (callers read them from a store file named by digest). */
  public void put(Digest d, byte[] bytes) {
    if (fits(bytes.length)) {
      cache.put(d, bytes);
    }
  }

  public void invalidate(Digest d) {
    cache.invalidate(d);
  }

  /** Removes {@code d}; true if it was held. */
  public boolean remove(Digest d) {
    return cache.asMap().remove(d) != null;
  }

  public long maxBytes() {
    return maxBytes;
  }

  public long entries() {
    return cache.estimatedSize();
  }

  public long bytes() {
    return cache.asMap().values().stream().mapToLong(b -> b.length).sum();
  }
}
