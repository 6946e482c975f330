package io.wharf.core.config;

import com.fasterxml.jackson.annotation.JsonSetter;
import com.fasterxml.jackson.annotation.Nulls;

/**
 * One storage tier.
 *
 * @param type {@code disk} or {@code memory}
 * @param path directory of a disk tier
 * @param maxSize byte budget (e.g. {@code 100GiB}); absent means unbounded (disk tiers only)
 * @param minFree free-space floor of a disk tier: no new writes to it while the file system has
 *     less than this free
 * @param maxObjectSize memory tier only: the largest object it holds (default 64KiB)
 */
public record TierConfig(
    @JsonSetter(nulls = Nulls.SKIP) Type type,
    String path,
    String maxSize,
    String minFree,
    String maxObjectSize) {

  /** Default {@link #maxObjectSize} of a memory tier. */
  public static final long DEFAULT_MAX_OBJECT_SIZE = 64 << 10;

  /** Tier kinds. */
  public enum Type {
    disk,
    memory
  }

  public static TierConfig disk(String path) {
    return new TierConfig(Type.disk, path, null, null, null);
  }

  /** A disk tier with a byte budget and a free-space floor ({@code null}: none). */
  public static TierConfig disk(String path, String maxSize, String minFree) {
    return new TierConfig(Type.disk, path, maxSize, minFree, null);
  }

  public TierConfig withDefaults() {
    return new TierConfig(type == null ? Type.disk : type, path, maxSize, minFree, maxObjectSize);
  }

  void validate(String where) {
    if (type == Type.disk && (path == null || path.isBlank())) {
      throw new ConfigException(where + ".path is required for a disk tier");
    }
    if (type == Type.memory && maxSize == null) {
      throw new ConfigException(where + ".maxSize is required for a memory tier");
    }
    if (type == Type.memory && (path != null || minFree != null)) {
      throw new ConfigException(where + ": a memory tier has no path or minFree");
    }
    if (type == Type.disk && maxObjectSize != null) {
      throw new ConfigException(where + ".maxObjectSize applies to memory tiers only");
    }
    try {
      if (maxSize != null && ByteSizes.parse(maxSize) <= 0) {
        throw new ConfigException(where + ".maxSize must be positive");
      }
      if (minFree != null) {
        ByteSizes.parse(minFree);
      }
      if (maxObjectSize != null && ByteSizes.parse(maxObjectSize) <= 0) {
        throw new ConfigException(where + ".maxObjectSize must be positive");
      }
    } catch (IllegalArgumentException e) {
      throw new ConfigException(where + ": " + e.getMessage());
    }
  }

  /** The byte budget, or {@link Long#MAX_VALUE} when unbounded. */
  public long maxBytes() {
    return maxSize == null ? Long.MAX_VALUE : ByteSizes.parse(maxSize);
  }

  public long minFreeBytes() {
    return minFree == null ? 0 : ByteSizes.parse(minFree);
  }

  /** The largest object a memory tier holds. */
  public long maxObjectBytes() {
    return maxObjectSize == null ? DEFAULT_MAX_OBJECT_SIZE : ByteSizes.parse(maxObjectSize);
  }
}
