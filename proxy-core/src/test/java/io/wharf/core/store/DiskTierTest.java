package io.wharf.core.store;

import static org.assertj.core.api.Assertions.assertThat;

import io.wharf.core.metrics.WharfMeters;
import io.wharf.core.oci.Digest;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DiskTierTest extends BlobTierContract<DiskTier> {
  @TempDir Path dir;
  long usable = Long.MAX_VALUE;

  @Override
  protected DiskTier newTier(long maxBytes) {
    return DiskTier.open("disk0", dir.resolve("t"), maxBytes, 1_000, d -> usable,
        System::currentTimeMillis, victims::addAll, WharfMeters.noop());
  }

  @Override
  protected Digest put(DiskTier tier, Reservation r, byte[] body) throws Exception {
    Digest d = Digest.sha256Of(body);
    Path tmp = tier.createTemp(d);
    Files.write(tmp, body);
    tier.commit(r, d, tmp);
    return d;
  }

  @Override
  protected byte[] read(DiskTier tier, Digest d) throws Exception {
    DiskTier.Opened o = tier.open(d);
    if (o == null) {
      return null;
    }
    try {
      return readAll(o.file());
    } finally {
      o.file().release();
    }
  }

  @Override
  protected HeldReader hold(DiskTier tier, Digest d) throws Exception {
    SharedFile f = tier.open(d).file();
    return () -> {
      try {
        return readAll(f);
      } finally {
        f.release();
      }
    };
  }

  static byte[] readAll(SharedFile f) throws Exception {
    ByteBuffer b = ByteBuffer.allocate((int) f.size());
    while (b.hasRemaining() && f.channel().read(b, b.position()) >= 0) {
      // keep reading
    }
    return b.array();
  }

  @Test
  void reserve_belowFreeSpaceFloor_refused_andAllowedAgainWhenSpaceIsBack() {
    DiskTier tier = newTier(10_000);
    usable = 1_500; // floor is 1000
    assertThat(tier.reserve(600)).isNull();
    assertThat(tier.reserve(400)).isNotNull();
    usable = 1_000_000;
    assertThat(tier.reserve(600)).isNotNull();
  }

  @Test
  void createTemp_unwritableDirectory_failsAndTierBacksOff() throws Exception {
    DiskTier tier = newTier(10_000);
    // Root ignores permissions: make tmp/ a plain file instead, which no one can create files in.
    Path tmp = tier.root().resolve("tmp");
    Files.delete(tmp);
    Files.writeString(tmp, "not a directory");
    Digest d = Digest.sha256Of(new byte[] {7});
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> tier.createTemp(d))
        .isInstanceOf(java.io.IOException.class);
    assertThat(tier.isBackingOff()).isTrue();
    assertThat(tier.reserve(10)).isNull();
  }

  @Test
  void commit_fromAnotherDirectory_copiesIntoTmpThenRenames() throws Exception {
    DiskTier tier = newTier(10_000);
    byte[] body = io.wharf.core.testing.TestImages.bytes(3, 5_000);
    Digest d = Digest.sha256Of(body);
    Path elsewhere = dir.resolve("elsewhere");
    Files.write(elsewhere, body);
    tier.commit(tier.reserve(body.length), d, elsewhere);
    assertThat(elsewhere).exists(); // the source is the caller's to remove
    assertThat(Files.readAllBytes(tier.blobPath(d))).isEqualTo(body);
    try (var s = Files.list(tier.root().resolve("tmp"))) {
      assertThat(s).isEmpty();
    }
  }
}
