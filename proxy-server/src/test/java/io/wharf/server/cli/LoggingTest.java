package io.wharf.server.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.LoggingEvent;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;
import org.slf4j.event.KeyValuePair;

class LoggingTest {
  @Test
  void jsonFormat_writesOneParseableObjectPerLine_withAccessFields() throws Exception {
    LoggerContext ctx = (LoggerContext) LoggerFactory.getILoggerFactory();
    var encoder = Logging.jsonEncoder(ctx);
    LoggingEvent e = new LoggingEvent("fqcn", ctx.getLogger("io.wharf.access"), Level.INFO,
        "abc-1 127.0.0.1 - GET /v2/ 200 2B 1ms source=-", null, null);
    e.addKeyValuePair(new KeyValuePair("request_id", "abc-1"));
    e.addKeyValuePair(new KeyValuePair("status", 200));
    String line = new String(encoder.encode(e), StandardCharsets.UTF_8);

    assertThat(line.strip()).doesNotContain("\n");
    JsonNode json = new ObjectMapper().readTree(line);

    assertThat(json.get("level").asText()).isEqualTo("INFO");
    assertThat(json.get("loggerName").asText()).isEqualTo("io.wharf.access");
    assertThat(json.get("formattedMessage").asText()).startsWith("abc-1 127.0.0.1");
    assertThat(json.get("kvpList").toString()).contains("\"request_id\":\"abc-1\"")
        .contains("\"status\":\"200\"");
  }

  @Test
  void logLevels_areSetPerLogger_andBadSettingsAreRefused() {
    Logging.setLevels(List.of("io.wharf.test.some=DEBUG"));
    LoggerContext ctx = (LoggerContext) LoggerFactory.getILoggerFactory();
    assertThat(ctx.getLogger("io.wharf.test.some").getLevel()).isEqualTo(Level.DEBUG);
    assertThatThrownBy(() -> Logging.setLevels(List.of("io.wharf=")))
        .hasMessageContaining("LOGGER=LEVEL");
    assertThatThrownBy(() -> Logging.setLevels(List.of("DEBUG")))
        .hasMessageContaining("LOGGER=LEVEL");
  }
}
