package io.wharf.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.wharf.core.oci.MediaTypes;
import io.wharf.core.testing.TestImages;
import io.wharf.server.testing.WharfOnScriptedUpstream;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.slf4j.LoggerFactory;

/** The access log: one event per answered request with its id, route, status, bytes and source. */
@Timeout(60)
class AccessLogIT extends WharfOnScriptedUpstream {
  private final Logger accessLogger = (Logger) LoggerFactory.getLogger("io.wharf.access");
  private final ListAppender<ILoggingEvent> events = new ListAppender<>();
  private Level before;

  @BeforeEach
  void capture() {
    before = accessLogger.getLevel();
    accessLogger.setLevel(Level.INFO);
    events.start();
    accessLogger.addAppender(events);
  }

  @AfterEach
  void release() {
    accessLogger.detachAppender(events);
    accessLogger.setLevel(before);
  }

  private static Map<String, Object> fields(ILoggingEvent e) {
    Map<String, Object> m = new HashMap<>();
    e.getKeyValuePairs().forEach(kv -> m.put(kv.key, kv.value));
    return m;
  }

  /** The access event of the request with this id (logged once the response is written). */
  private Map<String, Object> eventFor(String id) {
    return await().atMost(Duration.ofSeconds(10)).until(() -> {
      List<ILoggingEvent> copy;
      synchronized (events) {
        copy = List.copyOf(events.list);
      }
      return copy.stream().map(AccessLogIT::fields)
          .filter(f -> id.equals(f.get("request_id"))).findFirst().orElse(null);
    }, java.util.Objects::nonNull);
  }

  @Test
  void everyRequest_isLogged_withIdRouteStatusBytesAndSource() throws Exception {
    TestImages.Image img = TestImages.image(7, 3000);
    TestImages.publish(upstream, "team/app", "v1", img);
    start("", "", "");

    HttpResponse<byte[]> m = client.get("/v2/team/app/manifests/v1",
        "Accept", MediaTypes.OCI_MANIFEST, "X-Request-Id", "job-42.node-7");
    assertThat(m.statusCode()).isEqualTo(200);
    assertThat(m.headers().firstValue("X-Request-Id")).hasValue("job-42.node-7");
    Map<String, Object> mf = eventFor("job-42.node-7");
    assertThat(mf).containsEntry("route", "manifest").containsEntry("status", 200)
        .containsEntry("method", "GET").containsEntry("source", "manifest")
        .containsEntry("client", "127.0.0.1").containsEntry("bytes", (long) img.manifest().length);

    String blob = "/v2/team/app/blobs/" + img.layerDigest(0);
    HttpResponse<byte[]> cold = client.get(blob);
    assertThat(cold.statusCode()).isEqualTo(200);
    String coldId = cold.headers().firstValue("X-Request-Id").orElseThrow();
    Map<String, Object> first = eventFor(coldId);
    assertThat(first.get("source")).isIn("inflight", "passthrough");
    assertThat(first).containsEntry("bytes", 3000L).containsEntry("route", "blob");

    HttpResponse<byte[]> warm = client.get(blob, "X-Request-Id", "bad id with spaces");
    String warmId = warm.headers().firstValue("X-Request-Id").orElseThrow();
    assertThat(warmId).isNotEqualTo(coldId).doesNotContain(" ");
    assertThat(eventFor(warmId)).containsEntry("source", "disk").containsEntry("status", 200);

    HttpResponse<byte[]> missing = client.get("/v2/team/app/manifests/nope",
        "Accept", MediaTypes.OCI_MANIFEST);
    assertThat(missing.statusCode()).isEqualTo(404);
    String missingId = missing.headers().firstValue("X-Request-Id").orElseThrow();
    assertThat(eventFor(missingId)).containsEntry("status", 404)
        .containsEntry("uri", "/v2/team/app/manifests/nope");
  }
}
