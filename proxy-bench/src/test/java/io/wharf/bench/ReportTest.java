package io.wharf.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ReportTest {
  private static final String MIB = Long.toString(1L << 20);

  private static String pullLine(String target, String scenario, String ok, String failed,
      String gets, String max, String upBytes, String imageBytes, String images, String range,
      String resets, String error) {
    // Columns as in PullSimulator.TSV_HEADER.
    return String.join("\t", target, scenario, "10", ok, failed, "1500.0", "1200.0", "1300.0",
        "1400.0", "1450.0", "100.0", "110.0", "150.0", Long.toString(40L << 20), gets, max, "6",
        upBytes, "12", error, images, imageBytes, range, resets);
  }

  /** A results file of {@code lines} (each from {@link #pullLine}) under the simulator's header. */
  private static List<Report.Row> rows(Path dir, String... lines) throws Exception {
    Path p = dir.resolve("results.tsv");
    Files.writeString(p, PullSimulator.TSV_HEADER + "\n" + String.join("\n", lines) + "\n");
    return Report.readTsv(p);
  }

  private static List<Report.Row> pulls(Path dir) throws Exception {
    return rows(dir,
        pullLine("wharf", "zipf-200", "10", "0", "60", "1", Long.toString(8L << 20),
            Long.toString(8L << 20), "7", "0", "0", ""),
        pullLine("wharf", "failing-100", "10", "0", "11", "2", Long.toString(4L << 20),
            Long.toString(4L << 20), "1", "5", "5", ""),
        pullLine("nginx", "failing-100", "7", "3", "11", "2", Long.toString(6L << 20),
            Long.toString(4L << 20), "1", "0", "5", "IOException: closed | early"));
  }

  @Test
  void zipfTable_showsImagesGetsAndCopies(@TempDir Path dir) throws Exception {
    String t = Report.zipfTable(pulls(dir));
    assertThat(t).contains("| zipf-200 | wharf | 10/10 | 7 | 60 (1) | 8.0 (1.00×) | 1200.0 / 1400.0 |");
    assertThat(t).doesNotContain("failing");
  }

  @Test
  void failingTable_showsResetsRangeResumesCopiesAndEscapedError(@TempDir Path dir) throws Exception {
    String t = Report.failingTable(pulls(dir));
    assertThat(t).contains("| failing-100 | wharf | 10/10 | 5 | 11 (2) | 5 | 4.0 (1.00×) | 1200.0 / 1400.0 |  |");
    assertThat(t).contains("| failing-100 | nginx | 7/10 | 5 | 11 (2) | 0 | 6.0 (1.50×) |");
    assertThat(t).contains("`IOException: closed \\| early`");
    assertThat(t).doesNotContain("zipf");
  }

  @Test
  void pullTable_upstreamCell_carriesCopies_oldRowsWithoutImageBytesStayPlain(@TempDir Path dir)
      throws Exception {
    assertThat(Report.pullTable(pulls(dir))).contains("| 6.0 (1.50×) |");
    Path old = dir.resolve("old.tsv");
    Files.writeString(old, "target\tscenario\tupstream_bytes\tclient_bytes\n"
        + "wharf\tcold-10\t" + MIB + "\t" + (10L << 20) + "\n");
    assertThat(Report.pullTable(Report.readTsv(old))).contains("| 1.0 | 10 | 90.0 % |");
  }

  @Test
  void slowTable_rendersEveryMeasurement(@TempDir Path dir) throws Exception {
    Path p = dir.resolve("slow.tsv");
    Files.writeString(p, SlowClients.TSV_HEADER + "\n"
        + String.join("\t", "wharf", "10000", "10000", "10000", "0", "", "4096", "60",
            Long.toString(4L << 20), "200704", "245760", "100", "100", Long.toString(180L << 20),
            Long.toString(40L << 20), Long.toString(16L << 20), Long.toString(420L << 20), "75.2",
            "-Xmx256m", "12.5") + "\n"
        + String.join("\t", "nginx", "10000", "9990", "9980", "20", "closed by the server", "4096",
            "60", Long.toString(4L << 20), "0", "245760", "100", "99", "-1", "-1", "-1",
            Long.toString(60L << 20), "70.0", "", "3.0") + "\n");
    String t = Report.slowTable(Report.readTsv(p));
    assertThat(t).contains("| wharf | `-Xmx256m` | 10000 / 10000 / 10000 | 12.5 | 0 | 4096 | 196 / 240 | 100/100 | 180 | 40 | 16 | 420 |  |");
    assertThat(t).contains("| nginx |  | 9980 / 9990 / 10000 | 3.0 | 20 | 4096 | 0 / 240 | 99/100 |  |  |  | 60 | `closed by the server` |");
  }

  private static List<Report.Row> clusterRows(Path dir) throws Exception {
    return rows(dir,
        pullLine("single", "cold-10", "10", "0", "6", "1", Long.toString(4L << 20),
            Long.toString(4L << 20), "1", "0", "0", ""),
        pullLine("independent-3", "cold-10", "10", "0", "18", "3", Long.toString(12L << 20),
            Long.toString(4L << 20), "1", "0", "0", ""),
        pullLine("peers-3", "cold-10", "9", "1", "6", "1", Long.toString(4L << 20),
            Long.toString(4L << 20), "1", "0", "0", "deadline"));
  }

  @Test
  void clusterTable_instancesGetsAndRatioToSingle(@TempDir Path dir) throws Exception {
    java.util.Properties meta = new java.util.Properties();
    meta.setProperty("instances.independent-3", "3");
    String t = Report.clusterTable(clusterRows(dir), meta);
    assertThat(t).contains("| single |  | 10/10 | 1.50 | 1200.0 | 1300.0 | 1400.0 | 6 | 1 | 6 | 4.0 | 1.0× |")
        .contains("| independent-3 | 3 | 10/10 | 1.50 | 1200.0 | 1300.0 | 1400.0 | 18 | 3 | 6 | 12 | 3.0× |")
        .contains("| peers-3 |  | 9/10 |");
  }

  @Test
  void clusterSection_replacedInPlace_restOfFileUntouched(@TempDir Path dir) throws Exception {
    java.util.Properties meta = new java.util.Properties();
    meta.setProperty("command", "NODES=10 proxy-bench/cluster.sh");
    String section = Report.clusterSection(clusterRows(dir), meta);
    assertThat(section).startsWith(Report.CLUSTER_BEGIN).endsWith(Report.CLUSTER_END + "\n")
        .contains("| command | `NODES=10 proxy-bench/cluster.sh` |")
        .contains("- peers-3: `deadline`");
    String doc = "# Benchmarks\n\n## Pulls\n\ntable\n";
    String once = Report.withClusterSection(doc, section);
    assertThat(once).isEqualTo(doc + "\n" + section);
    String twice = Report.withClusterSection(once + "## After\n", "NEW\n");
    assertThat(twice).isEqualTo(doc + "\nNEW\n## After\n");
    assertThat(Report.clusterSectionOf(once)).isEqualTo(section);
    assertThat(Report.clusterSectionOf(doc)).isEmpty();
  }
}
