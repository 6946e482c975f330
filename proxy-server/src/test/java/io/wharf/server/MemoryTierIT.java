package io.wharf.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.wharf.core.config.WharfConfig;
import io.wharf.core.oci.Digest;
import io.wharf.core.testing.TestImages;
import io.wharf.server.testing.TestClient;
import io.wharf.server.testing.WharfOnScriptedUpstream;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The memory tier for small blobs: served from the heap, within its budget, bytes intact. */
@Timeout(60)
class MemoryTierIT extends WharfOnScriptedUpstream {

  private void startWithMemory() {
    server = WharfServer.start(WharfConfig.parse("listen: 127.0.0.1:0\n"
        + "upstreams:\n  - name: up\n    url: " + upstream.url() + "\n"
        + "storage:\n  tiers:\n"
        + "    - type: memory\n      maxSize: 1MiB\n      maxObjectSize: 64KiB\n"
        + "    - path: " + store + "\n"
        + "server:\n  shutdownGrace: 1s\n"));
    client = new TestClient(server.port());
  }

  private double servedFrom(String source) {
    var c = server.services().meters().registry().find("wharf.served.bytes").tag("source", source)
        .counter();
    return c == null ? 0 : c.count();
  }

  private Path onDisk(Digest d) {
    return store.resolve("blobs/sha256/" + d.hex().substring(0, 2) + "/" + d.hex());
  }

  @Test
  void smallBlob_servedFromMemory_evenAfterItsFileIsGone_largeBlobFromDisk() throws Exception {
    byte[] small = TestImages.bytes(1, 32 << 10);
    byte[] large = TestImages.bytes(2, 200 << 10);
    Digest ds = upstream.putBlob(small);
    Digest dl = upstream.putBlob(large);
    startWithMemory();

    assertThat(client.get("/v2/app/blobs/" + ds).body()).isEqualTo(small); // fetched, stored
    await().until(() -> Files.exists(onDisk(ds)) && server.services().blobs().inFlight().size() == 0);
    assertThat(client.get("/v2/app/blobs/" + ds).body()).isEqualTo(small); // disk → memory
    Files.delete(onDisk(ds));
    HttpResponse<byte[]> hot = client.get("/v2/app/blobs/" + ds);
    assertThat(hot.body()).isEqualTo(small);
    await().untilAsserted(() -> assertThat(servedFrom("memory")).isGreaterThanOrEqualTo(small.length));
    HttpResponse<byte[]> range = client.get("/v2/app/blobs/" + ds, "Range", "bytes=10-19");
    assertThat(range.statusCode()).isEqualTo(206);
    assertThat(range.body()).isEqualTo(java.util.Arrays.copyOfRange(small, 10, 20));
    assertThat(upstream.blobGets(ds)).isEqualTo(1);

    client.get("/v2/app/blobs/" + dl);
    await().until(() -> Files.exists(onDisk(dl)) && server.services().blobs().inFlight().size() == 0);
    await().until(() -> servedFrom("memory") >= small.length + 10);
    double fromMemory = servedFrom("memory");
    assertThat(client.get("/v2/app/blobs/" + dl).body()).isEqualTo(large);
    assertThat(servedFrom("memory")).as("over maxObjectSize: not in memory").isEqualTo(fromMemory);
    await().untilAsserted(() -> assertThat(servedFrom("disk")).isGreaterThanOrEqualTo(large.length));
  }

  @Test
  void memoryTier_staysWithinItsBudget() throws Exception {
    List<Digest> ds = new ArrayList<>();
    for (int i = 0; i < 30; i++) {
      ds.add(upstream.putBlob(TestImages.bytes(100 + i, 60 << 10)));
    }
    startWithMemory();
    for (int round = 0; round < 2; round++) {
      for (Digest d : ds) {
        assertThat(Digest.sha256Of(client.get("/v2/app/blobs/" + d).body())).isEqualTo(d);
      }
    }
    double bytes = server.services().meters().registry().get("wharf.store.memory.bytes").gauge().value();
    assertThat(bytes).isPositive().isLessThanOrEqualTo(1 << 20);
  }
}
