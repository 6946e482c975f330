package io.wharf.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.wharf.server.testing.TestClient;
import io.wharf.server.testing.WharfOnScriptedUpstream;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** /metrics and health on a separate admin listener, behind a token. */
@Timeout(60)
class AdminListenerIT extends WharfOnScriptedUpstream {

  @Test
  void adminListener_tokenProtectsMetrics_healthOpen_mainPortMetricsOff() throws Exception {
    start("admin:\n  listen: 127.0.0.1:0\n  token: s3cret-admin\n  metricsOnMainPort: false\n", "", "");
    TestClient admin = new TestClient(server.adminPort());
    assertThat(server.adminPort()).isPositive().isNotEqualTo(server.port());

    HttpResponse<byte[]> noToken = admin.get("/metrics");
    assertThat(noToken.statusCode()).isEqualTo(401);
    assertThat(new String(noToken.body(), StandardCharsets.UTF_8)).doesNotContain("s3cret");
    assertThat(admin.get("/metrics", "Authorization", "Bearer wrong").statusCode()).isEqualTo(401);
    HttpResponse<byte[]> ok = admin.get("/metrics", "Authorization", "Bearer s3cret-admin");
    assertThat(ok.statusCode()).isEqualTo(200);
    assertThat(new String(ok.body(), StandardCharsets.UTF_8)).contains("jvm_memory_used_bytes");
    assertThat(admin.get("/healthz").statusCode()).isEqualTo(200);
    assertThat(admin.get("/readyz").statusCode()).isEqualTo(200);
    assertThat(admin.get("/v2/").statusCode()).as("no registry API on the admin port").isEqualTo(401);
    assertThat(admin.get("/v2/", "Authorization", "Bearer s3cret-admin").statusCode()).isEqualTo(404);

    assertThat(client.get("/metrics").statusCode()).as("metrics off the registry port").isEqualTo(404);
    assertThat(client.get("/v2/").statusCode()).isEqualTo(200);
  }

  @Test
  void noAdminSection_metricsOnMainPort() throws Exception {
    start("", "", "");
    assertThat(server.adminPort()).isEqualTo(-1);
    assertThat(client.get("/metrics").statusCode()).isEqualTo(200);
  }
}
