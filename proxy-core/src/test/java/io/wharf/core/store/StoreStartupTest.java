package io.wharf.core.store;

import static org.assertj.core.api.Assertions.assertThat;

import io.wharf.core.config.StorageConfig;
import io.wharf.core.config.TierConfig;
import io.wharf.core.metrics.WharfMeters;
import io.wharf.core.oci.Digest;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Start-up of a store with many cached blobs: every one indexed, and how long it took. The
 * default is small so the suite stays fast; measure the real figure with
 * {@code ./mvnw -pl proxy-core -am test -Dtest=StoreStartupTest -Dsurefire.failIfNoSpecifiedTests=false
 * -Dwharf.startup.blobs=100000} (add {@code -Dwharf.startup.dir=/some/dir} to keep the generated
 * store and time later start-ups alone).
 */
@Timeout(600)
class StoreStartupTest {
  private static final Logger log = LoggerFactory.getLogger(StoreStartupTest.class);
  @TempDir Path dir;

  @Test
  void open_generatedStore_indexesEveryBlob() throws Exception {
    int n = Integer.getInteger("wharf.startup.blobs", 2_000);
    // A kept directory lets repeated runs measure start-up alone (generated on the first run).
    String kept = System.getProperty("wharf.startup.dir");
    Path root = kept != null ? Path.of(kept) : dir.resolve("disk0");
    long genStart = System.nanoTime();
    long bytes = 0;
    for (int i = 0; i < n; i++) {
      byte[] body = ByteBuffer.allocate(16).putLong(i).putLong(~i).array();
      Digest d = Digest.sha256Of(body);
      Path p = root.resolve("blobs/sha256").resolve(d.hex().substring(0, 2)).resolve(d.hex());
      if (!Files.exists(p)) {
        Files.createDirectories(p.getParent());
        Files.write(p, body);
      }
      bytes += body.length;
    }
    long genMs = (System.nanoTime() - genStart) / 1_000_000;
    StorageConfig cfg = new StorageConfig(List.of(TierConfig.disk(root.toString())));
    long t0 = System.nanoTime();
    try (TieredStore store = TieredStore.open(cfg.withDefaults(), DiskSpace.system(),
        Runnable::run, System::currentTimeMillis, WharfMeters.noop())) {
      long ms = (System.nanoTime() - t0) / 1_000_000;
      log.warn("start-up with {} cached blobs ({} bytes): {} ms (generating them took {} ms)", n,
          bytes, ms, genMs);
      assertThat(store.tiers().get(0).entryCount()).isEqualTo(n);
      assertThat(store.tiers().get(0).usedBytes()).isEqualTo(bytes);
    }
  }
}
