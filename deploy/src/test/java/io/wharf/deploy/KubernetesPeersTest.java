package io.wharf.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.wharf.core.config.UpstreamConfig;
import io.wharf.core.config.WharfConfig;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The peer and node-local manifests: their embedded wharf.yaml is a valid config of that shape. */
class KubernetesPeersTest {

  private static List<JsonNode> docs(String file) throws IOException {
    List<JsonNode> out = new ArrayList<>();
    try (MappingIterator<JsonNode> it = new YAMLMapper().readerFor(JsonNode.class)
        .readValues(Path.of(file).toFile())) {
      while (it.hasNext()) {
        JsonNode n = it.next();
        if (n != null && !n.isNull() && !n.isMissingNode()) {
          out.add(n);
        }
      }
    }
    return out;
  }

  private static JsonNode kind(List<JsonNode> docs, String kind) {
    return docs.stream().filter(d -> d.path("kind").asText().equals(kind)).findFirst()
        .orElseThrow(() -> new AssertionError("no " + kind));
  }

  @Test
  void peers_configMapIsAPeerConfigOnTheHeadlessService() throws IOException {
    List<JsonNode> docs = docs("kubernetes/peers/wharf-peers.yaml");
    WharfConfig c = WharfConfig.parse(kind(docs, "ConfigMap").path("data").path("wharf.yaml")
        .asText());
    assertThat(c.peers()).isNotNull();
    String headless = docs.stream()
        .filter(d -> d.path("kind").asText().equals("Service")
            && d.path("spec").path("clusterIP").asText().equals("None"))
        .map(d -> d.path("metadata").path("name").asText()).findFirst().orElseThrow();
    assertThat(c.peers().dns()).startsWith(headless + ".");
    JsonNode sts = kind(docs, "StatefulSet");
    assertThat(sts.path("spec").path("serviceName").asText()).isEqualTo(headless);
    assertThat(sts.toString()).contains(c.peers().tokenEnv());
  }

  @Test
  void nodeLocal_configMapUsesTheClusterServiceAsParentWharf() throws IOException {
    WharfConfig c = WharfConfig.parse(kind(docs("kubernetes/node-local/wharf-node.yaml"),
        "ConfigMap").path("data").path("wharf.yaml").asText());
    assertThat(c.upstreams()).isNotEmpty().allSatisfy(u -> {
      assertThat(u.kind()).isEqualTo(UpstreamConfig.Kind.wharf);
      assertThat(u.url()).isEqualTo("http://wharf.wharf.svc.cluster.local:5000");
    });
  }
}
