package io.wharf.core.config;

import java.time.Duration;
import java.util.List;

/**
 * Where cached content lives: an ordered list of tiers, fastest first. The first disk tier also
 * holds manifests and tag records.
 *
 * @param tiers ordered tiers: at most one {@code memory} tier, first; then one or more disk tiers
 * @param retention blobs not pulled for this long are removed (absent: kept until evicted)
 * @param promoteAfterHits a blob in a lower disk tier read this many times while there is copied
 *     up one tier (0: never promote)
 */
public record StorageConfig(List<TierConfig> tiers, Duration retention, Integer promoteAfterHits) {

  public static final String DEFAULT_PATH = "./wharf-data";
  public static final int DEFAULT_PROMOTE_AFTER_HITS = 2;

  public StorageConfig(List<TierConfig> tiers) {
    this(tiers, null, null);
  }

  public static StorageConfig defaults() {
    return new StorageConfig(List.of(TierConfig.disk(DEFAULT_PATH))).withDefaults();
  }

  public StorageConfig withDefaults() {
    List<TierConfig> t =
        tiers == null || tiers.isEmpty()
            ? List.of(TierConfig.disk(DEFAULT_PATH))
            : tiers.stream().map(TierConfig::withDefaults).toList();
    return new StorageConfig(
        t, retention, promoteAfterHits == null ? DEFAULT_PROMOTE_AFTER_HITS : promoteAfterHits);
  }

  void validate() {
    boolean anyDisk = false;
    for (int i = 0; i < tiers.size(); i++) {
      TierConfig t = tiers.get(i);
      t.validate("storage.tiers[" + i + "]");
      anyDisk |= t.type() == TierConfig.Type.disk;
      if (t.type() == TierConfig.Type.memory && i != 0) {
        throw new ConfigException("storage.tiers[" + i + "]: the memory tier must come first");
      }
    }
    if (!anyDisk) {
      throw new ConfigException("storage.tiers needs at least one disk tier");
    }
    List<String> paths = diskTiers().stream().map(TierConfig::path).toList();
    if (paths.stream().distinct().count() != paths.size()) {
      throw new ConfigException("storage.tiers: two disk tiers use the same path");
    }
    if (retention != null && (retention.isNegative() || retention.isZero())) {
      throw new ConfigException("storage.retention must be positive");
    }
    if (promoteAfterHits != null && promoteAfterHits < 0) {
      throw new ConfigException("storage.promoteAfterHits must be 0 or more");
    }
  }

  /** The first disk tier: manifests and tag records live there. */
  public TierConfig primaryDisk() {
    return diskTiers().get(0);
  }

  /** The disk tiers, fastest first. */
  public List<TierConfig> diskTiers() {
    return tiers.stream().filter(t -> t.type() == TierConfig.Type.disk).toList();
  }

  /** The memory tier, or null. */
  public TierConfig memory() {
    return tiers.stream().filter(t -> t.type() == TierConfig.Type.memory).findFirst().orElse(null);
  }
}
