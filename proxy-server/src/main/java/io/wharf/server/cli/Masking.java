package io.wharf.server.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.wharf.core.config.WharfConfig;

/** Renders a config as YAML with every inline secret replaced by {@code ****}. */
final class Masking {
  private Masking() {}

  static String render(WharfConfig cfg) throws JsonProcessingException {
    ObjectMapper yaml = WharfConfig.yaml();
    JsonNode tree = yaml.valueToTree(cfg);
    for (JsonNode up : tree.path("upstreams")) {
      JsonNode cred = up.path("credentials");
      if (cred instanceof ObjectNode o) {
        for (String secret : new String[] {"password", "token"}) {
          if (o.hasNonNull(secret)) {
            o.put(secret, "****");
          }
        }
      }
    }
    mask(tree.path("server").path("tokens"), "key");
    mask(tree.path("admin"), "token");
    mask(tree.path("peers"), "token");
    return yaml.writeValueAsString(tree);
  }

  private static void mask(JsonNode parent, String field) {
    if (parent instanceof ObjectNode o && o.hasNonNull(field)) {
      o.put(field, "****");
    }
  }
}
