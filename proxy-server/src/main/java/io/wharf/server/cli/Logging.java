package io.wharf.server.cli;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import org.slf4j.LoggerFactory;

/** Log level control at start-up. */
final class Logging {
  private Logging() {}

  /** Sends java.util.logging (Caffeine, the JDK HTTP client) through SLF4J to Logback. */
  static void bridgeJavaUtilLogging() {
    org.slf4j.bridge.SLF4JBridgeHandler.removeHandlersForRootLogger();
    org.slf4j.bridge.SLF4JBridgeHandler.install();
  }

  static void setRootLevel(Level level) {
    setLevel(org.slf4j.Logger.ROOT_LOGGER_NAME, level);
  }

  /** Log line formats on stderr. */
  enum Format { TEXT, JSON }

  /**
   * Switches the console appender to one JSON object per line (Logback's JsonEncoder): level,
   * time, thread, logger, the formatted message and, for access lines, every field as a
   * key-value pair — what log shippers (Loki, Elasticsearch, journald) parse without regexes.
   */
  static void useFormat(Format format) {
    if (format != Format.JSON
        || !(LoggerFactory.getILoggerFactory() instanceof LoggerContext ctx)) {
      return;
    }
    var root = ctx.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    if (!(root.getAppender("STDERR")
        instanceof ch.qos.logback.core.ConsoleAppender<ch.qos.logback.classic.spi.ILoggingEvent> c)) {
      return;
    }
    c.stop();
    c.setEncoder(jsonEncoder(ctx));
    c.start();
  }

  static ch.qos.logback.classic.encoder.JsonEncoder jsonEncoder(LoggerContext ctx) {
    var json = new ch.qos.logback.classic.encoder.JsonEncoder();
    json.setContext(ctx);
    json.setWithSequenceNumber(false);
    json.setWithNanoseconds(false);
    json.setWithContext(false);
    json.setWithArguments(false);
    json.setWithMessage(false);
    json.setWithFormattedMessage(true);
    json.setWithMDC(false);
    json.start();
    return json;
  }

  /** Applies {@code logger=LEVEL} settings, e.g. {@code io.wharf.core.fetch=DEBUG}. */
  static void setLevels(java.util.List<String> settings) {
    for (String s : settings) {
      int eq = s.indexOf('=');
      if (eq <= 0 || eq == s.length() - 1) {
        throw new IllegalArgumentException("--log wants LOGGER=LEVEL, got '" + s + "'");
      }
      setLevel(s.substring(0, eq), Level.toLevel(s.substring(eq + 1), Level.INFO));
    }
  }

  static void setLevel(String logger, Level level) {
    if (LoggerFactory.getILoggerFactory() instanceof LoggerContext ctx) {
      ctx.getLogger(logger).setLevel(level);
    }
  }
}
