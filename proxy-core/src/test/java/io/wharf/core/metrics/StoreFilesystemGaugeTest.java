package io.wharf.core.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.lang.ref.WeakReference;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The disk-tier file-system gauges must keep reading after garbage collections. */
class StoreFilesystemGaugeTest {

  @Test
  void filesystemGauges_stillReadAfterGarbageCollection(@TempDir Path dir) throws Exception {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    new WharfMeters(registry).storeFilesystem("disk0", dir);
    Gauge free = registry.get(WharfMeters.STORE_FS_FREE).tag("tier", "disk0").gauge();
    Gauge size = registry.get(WharfMeters.STORE_FS_SIZE).tag("tier", "disk0").gauge();
    assertThat(size.value()).isEqualTo((double) Files.getFileStore(dir).getTotalSpace());

    // Collect until a weakly held object of our own is gone: by then a gauge that held its
    // FileStore only weakly would have lost it too.
    WeakReference<Object> probe = new WeakReference<>(new Object());
    for (int i = 0; i < 50 && probe.get() != null; i++) {
      System.gc();
    }
    assertThat(probe.get()).as("a GC ran").isNull();

    assertThat(free.value()).isFinite().isPositive();
    assertThat(size.value()).isEqualTo((double) Files.getFileStore(dir).getTotalSpace());
  }
}
