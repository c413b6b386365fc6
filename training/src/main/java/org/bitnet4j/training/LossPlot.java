package org.bitnet4j.training;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.imageio.ImageIO;

/** A PNG of the training and validation loss from loss.tsv (java.awt, headless). */
final class LossPlot {
    private LossPlot() {}

    static void write(Path tsv, Path png) throws IOException {
        System.setProperty("java.awt.headless", "true");
        List<double[]> train = new ArrayList<>(), val = new ArrayList<>();
        for (String line : Files.readAllLines(tsv)) {
            String[] f = line.split("\t", -1);
            if (f.length < 3 || f[0].equals("step")) {
                continue;
            }
            double step = Double.parseDouble(f[0]);
            if (!f[1].isEmpty()) {
                train.add(new double[] {step, Double.parseDouble(f[1])});
            }
            if (!f[2].isEmpty()) {
                val.add(new double[] {step, Double.parseDouble(f[2])});
            }
        }
        int W = 900, H = 500, left = 70, right = 20, top = 40, bottom = 50;
        BufferedImage img = new BufferedImage(W, H, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, W, H);
        double maxStep = 1, minL = Double.MAX_VALUE, maxL = 0;
        for (List<double[]> s : List.of(train, val)) {
            for (double[] p : s) {
                maxStep = Math.max(maxStep, p[0]);
                minL = Math.min(minL, p[1]);
                maxL = Math.max(maxL, p[1]);
            }
        }
        if (minL > maxL) {
            minL = 0;
            maxL = 1;
        }
        double lo = Math.floor(minL), hi = Math.ceil(maxL);
        g.setColor(Color.LIGHT_GRAY);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        for (double y = lo; y <= hi; y += Math.max(1, Math.round((hi - lo) / 8))) {
            int py = top + (int) ((hi - y) / (hi - lo + 1e-9) * (H - top - bottom));
            g.drawLine(left, py, W - right, py);
            g.setColor(Color.DARK_GRAY);
            g.drawString(String.format("%.0f", y), 30, py + 4);
            g.setColor(Color.LIGHT_GRAY);
        }
        g.setColor(Color.BLACK);
        g.drawRect(left, top, W - left - right, H - top - bottom);
        g.drawString("step (max " + (long) maxStep + ")", W / 2 - 40, H - 15);
        g.drawString("loss (nats/token): train (blue), validation (red)", left, 25);
        plot(g, train, new Color(40, 90, 200), maxStep, lo, hi, W, H, left, right, top, bottom, 1f);
        plot(g, val, new Color(200, 40, 40), maxStep, lo, hi, W, H, left, right, top, bottom, 2.5f);
        g.dispose();
        ImageIO.write(img, "png", png.toFile());
    }

    private static void plot(Graphics2D g, List<double[]> s, Color c, double maxStep, double lo, double hi, int W, int H, int left,
                             int right, int top, int bottom, float width) {
        g.setColor(c);
        g.setStroke(new BasicStroke(width));
        int px = -1, py = -1;
        for (double[] p : s) {
            int x = left + (int) (p[0] / maxStep * (W - left - right));
            int y = top + (int) ((hi - p[1]) / (hi - lo + 1e-9) * (H - top - bottom));
            if (px >= 0) {
                g.drawLine(px, py, x, y);
            }
            px = x;
            py = y;
        }
    }
}
