package io.wharf.core.config;

import java.util.List;

/**
 * Where cached content lives: an ordered list of tiers, fastest first. The first disk tier also
 * holds temp files of fetches in progress, tag records and repository links.
 */
public record StorageConfig(List<TierConfig> tiers) {

  public static final String DEFAULT_PATH = "./wharf-data";

  public static StorageConfig defaults() {
    return new StorageConfig(List.of(TierConfig.disk(DEFAULT_PATH)));
  }

  public StorageConfig withDefaults() {
    if (tiers == null || tiers.isEmpty()) {
      return defaults();
    }
    return new StorageConfig(tiers.stream().map(TierConfig::withDefaults).toList());
  }

  void validate() {
    boolean anyDisk = false;
    for (int i = 0; i < tiers.size(); i++) {
      TierConfig t = tiers.get(i);
      t.validate("storage.tiers[" + i + "]");
      anyDisk |= t.type() == TierConfig.Type.disk;
    }
    if (!anyDisk) {
      throw new ConfigException("storage.tiers needs at least one disk tier");
    }
  }

  /** The first disk tier: temp files, tag records and links live there. */
  public TierConfig primaryDisk() {
    return tiers.stream().filter(t -> t.type() == TierConfig.Type.disk).findFirst().orElseThrow();
  }
}
