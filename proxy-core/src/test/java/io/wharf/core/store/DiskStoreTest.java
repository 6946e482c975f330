package io.wharf.core.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.wharf.core.oci.Digest;
import io.wharf.core.oci.MediaTypes;
import io.wharf.core.testing.TestImages;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DiskStoreTest {
  @TempDir Path root;

  @Test
  void commitBlob_movesTempToDigestPath() throws Exception {
    byte[] body = TestImages.bytes(1, 10_000);
    Digest d = Digest.sha256Of(body);
    try (DiskStore s = DiskStore.open(root)) {
      Path tmp = s.newTempPath(d);
      Files.write(tmp, body);
      s.commitBlob(tmp, d);
      assertThat(tmp).doesNotExist();
      assertThat(s.blobPath(d)).isEqualTo(root.resolve("blobs/sha256/" + d.hex().substring(0, 2) + "/" + d.hex()));
      assertThat(Files.readAllBytes(s.blobPath(d))).isEqualTo(body);
      assertThat(s.blobSize(d)).contains(10_000L);
      SharedFile f = s.openBlob(d).orElseThrow();
      ByteBuffer b = ByteBuffer.allocate(16);
      f.channel().read(b, 0);
      assertThat(b.array()).isEqualTo(java.util.Arrays.copyOf(body, 16));
      f.release();
      assertThat(f.channel().isOpen()).isFalse();
    }
  }

  @Test
  void sharedFile_survivesRenameAndUnlink() throws Exception {
    byte[] body = TestImages.bytes(2, 4096);
    Digest d = Digest.sha256Of(body);
    try (DiskStore s = DiskStore.open(root)) {
      Path tmp = s.newTempPath(d);
      Files.write(tmp, body);
      SharedFile reader = SharedFile.open(tmp);
      s.commitBlob(tmp, d);
      Files.delete(s.blobPath(d));
      ByteBuffer b = ByteBuffer.allocate(4096);
      reader.channel().read(b, 0);
      assertThat(b.array()).isEqualTo(body);
      reader.release();
    }
  }

  @Test
  void open_removesLeftoverTempFiles_andWritesFormat() throws Exception {
    Files.createDirectories(root.resolve("tmp"));
    Files.writeString(root.resolve("tmp/deadbeef.123"), "partial");
    try (DiskStore s = DiskStore.open(root)) {
      try (Stream<Path> tmp = Files.list(root.resolve("tmp"))) {
        assertThat(tmp).isEmpty();
      }
      assertThat(Files.readString(root.resolve("wharf-store.json"))).contains("\"formatVersion\":1");
    }
  }

  @Test
  void open_otherFormatVersion_refused() throws Exception {
    Files.writeString(root.resolve("wharf-store.json"), "{\"formatVersion\":99}");
    assertThatThrownBy(() -> DiskStore.open(root))
        .isInstanceOf(StoreException.class)
        .hasMessageContaining("format version 99");
  }

  @Test
  void open_twice_secondRefusedByLock() {
    try (DiskStore s = DiskStore.open(root)) {
      assertThatThrownBy(() -> DiskStore.open(root))
          .isInstanceOf(StoreException.class)
          .hasMessageContaining("in use by another Wharf instance");
    }
    DiskStore.open(root).close();
  }

  @Test
  void manifest_roundTrip_andCorruptFileRemovedNotServed() throws Exception {
    byte[] body = "{\"schemaVersion\":2}".getBytes(StandardCharsets.UTF_8);
    Digest d = Digest.sha256Of(body);
    try (DiskStore s = DiskStore.open(root)) {
      s.putManifest(d, body, MediaTypes.OCI_MANIFEST);
      DiskStore.StoredManifest m = s.getManifest(d).orElseThrow();
      assertThat(m.body()).isEqualTo(body);
      assertThat(m.mediaType()).isEqualTo(MediaTypes.OCI_MANIFEST);
      Files.writeString(s.blobPath(d), "{\"schemaVersion\":3}");
      assertThat(s.getManifest(d)).isEmpty();
      assertThat(s.blobPath(d)).doesNotExist();
    }
  }

  @Test
  void tagRecords_persistAcrossReopen_andPathsComeFromHashes() throws Exception {
    TagRecord r = new TagRecord("docker.io", "library/nginx", "1.27", MediaTypes.AcceptClass.INDEX,
        "sha256:" + "c".repeat(64), MediaTypes.OCI_INDEX, 1234L);
    try (DiskStore s = DiskStore.open(root)) {
      new TagRecordStore(s).write(r);
    }
    try (DiskStore s = DiskStore.open(root)) {
      TagRecordStore t = new TagRecordStore(s);
      assertThat(t.read("docker.io", "library/nginx", "1.27", MediaTypes.AcceptClass.INDEX)).contains(r);
      assertThat(t.read("docker.io", "library/nginx", "1.27", MediaTypes.AcceptClass.SINGLE)).isEmpty();
      assertThat(t.read("ghcr.io", "library/nginx", "1.27", MediaTypes.AcceptClass.INDEX)).isEmpty();
    }
    try (Stream<Path> all = Files.walk(root.resolve("tags"))) {
      assertThat(all.filter(Files::isRegularFile).map(p -> p.getFileName().toString()))
          .singleElement().asString().matches("[0-9a-f]{64}\\.json");
    }
  }
}
