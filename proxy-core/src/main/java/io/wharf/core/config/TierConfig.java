package io.wharf.core.config;

import com.fasterxml.jackson.annotation.JsonSetter;
import com.fasterxml.jackson.annotation.Nulls;

/**
 * One storage tier.
 *
 * @param type {@code disk} or {@code memory}
 * @param path directory of a disk tier
 * @param maxSize byte budget (e.g. {@code 100GiB}); absent means unbounded
 * @param minFree free-space floor of a disk tier: no writes below it
 */
public record TierConfig(
    @JsonSetter(nulls = Nulls.SKIP) Type type, String path, String maxSize, String minFree) {

  /** Tier kinds. */
  public enum Type {
    disk,
    memory
  }

  public static TierConfig disk(String path) {
    return new TierConfig(Type.disk, path, null, null);
  }

  public TierConfig withDefaults() {
    return new TierConfig(type == null ? Type.disk : type, path, maxSize, minFree);
  }

  void validate(String where) {
    if (type == Type.disk && (path == null || path.isBlank())) {
      throw new ConfigException(where + ".path is required for a disk tier");
    }
    if (type == Type.memory && maxSize == null) {
      throw new ConfigException(where + ".maxSize is required for a memory tier");
    }
    try {
      if (maxSize != null && ByteSizes.parse(maxSize) <= 0) {
        throw new ConfigException(where + ".maxSize must be positive");
      }
      if (minFree != null) {
        ByteSizes.parse(minFree);
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
}
