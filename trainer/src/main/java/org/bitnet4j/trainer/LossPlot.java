package org.bitnet4j.trainer;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import javax.imageio.ImageIO;

/** loss.png: training loss (blue) and validation loss (red) against step, drawn headless with java.awt. */
public final class LossPlot {
    private LossPlot() {}

    public static void write(List<Trainer.Row> rows, Path file) {
        System.setProperty("java.awt.headless", "true");
        int W = 800, H = 500, left = 60, right = 20, top = 30, bottom = 50;
        BufferedImage img = new BufferedImage(W, H, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, W, H);
        if (rows.isEmpty()) {
            g.dispose();
            save(img, file);
            return;
        }
        double lo = Double.MAX_VALUE, hi = -Double.MAX_VALUE;
        for (Trainer.Row r : rows) {
            for (double x : new double[] {r.train(), r.val()}) {
                if (!Double.isNaN(x)) {
                    lo = Math.min(lo, x);
                    hi = Math.max(hi, x);
                }
            }
        }
        lo = Math.floor(lo);
        hi = Math.ceil(hi);
        if (hi <= lo) {
            hi = lo + 1;
        }
        int maxStep = rows.getLast().step();
        double fx = (W - left - right) / (double) Math.max(1, maxStep), fy = (H - top - bottom) / (hi - lo);
        g.setColor(Color.LIGHT_GRAY);
        for (int k = 0; k <= 5; k++) {
            double y = lo + (hi - lo) * k / 5;
            int py = (int) (H - bottom - (y - lo) * fy);
            g.drawLine(left, py, W - right, py);
            g.setColor(Color.DARK_GRAY);
            g.drawString(String.format(Locale.ROOT, "%.2f", y), 5, py + 4);
            g.setColor(Color.LIGHT_GRAY);
        }
        g.setColor(Color.DARK_GRAY);
        g.drawRect(left, top, W - left - right, H - top - bottom);
        g.drawString("step (max " + maxStep + ")", W / 2 - 40, H - 15);
        g.drawString("loss (nats/token): train blue, validation red", left, 20);
        g.setStroke(new BasicStroke(1.2f));
        g.setColor(new Color(40, 90, 200));
        int px = -1, py = -1;
        for (Trainer.Row r : rows) {
            int x = (int) (left + r.step() * fx), y = (int) (H - bottom - (r.train() - lo) * fy);
            if (px >= 0) {
                g.drawLine(px, py, x, y);
            }
            px = x;
            py = y;
        }
        g.setStroke(new BasicStroke(2f));
        g.setColor(new Color(200, 40, 40));
        px = -1;
        for (Trainer.Row r : rows) {
            if (Double.isNaN(r.val())) {
                continue;
            }
            int x = (int) (left + r.step() * fx), y = (int) (H - bottom - (r.val() - lo) * fy);
            if (px >= 0) {
                g.drawLine(px, py, x, y);
            }
            g.fillOval(x - 3, y - 3, 6, 6);
            px = x;
            py = y;
        }
        g.dispose();
        save(img, file);
    }

    private static void save(BufferedImage img, Path file) {
        try {
            Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
            ImageIO.write(img, "png", tmp.toFile());
            java.nio.file.Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                    java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException(file + ": cannot write plot: " + e.getMessage(), e);
        }
    }
}
