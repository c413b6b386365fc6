package org.bitnet4j.train;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import javax.imageio.ImageIO;

/** A PNG of the loss curves (training loss, its moving average, validation loss, baselines) drawn with Java2D. */
public final class LossPlot {
    private LossPlot() {}

    /**
     * @param lines horizontal reference lines (label, nats/token), e.g. the baselines; may be empty
     */
    public static void write(Path png, String title, List<Trainer.LogRow> log, List<Object[]> lines) throws IOException {
        System.setProperty("java.awt.headless", "true");
        int w = 960, h = 600, left = 70, right = 20, top = 40, bottom = 50;
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, w, h);
        int steps = Math.max(1, log.isEmpty() ? 1 : log.get(log.size() - 1).step());
        double min = Double.MAX_VALUE, max = -Double.MAX_VALUE;
        for (Trainer.LogRow r : log) {
            min = Math.min(min, Math.min(r.loss(), Double.isNaN(r.valLoss()) ? r.loss() : r.valLoss()));
            max = Math.max(max, r.loss());
        }
        for (Object[] l : lines) {
            double v = ((Number) l[1]).doubleValue();
            min = Math.min(min, v);
            max = Math.max(max, v);
        }
        if (min == Double.MAX_VALUE) {
            min = 0;
            max = 1;
        }
        min = Math.floor(min * 2) / 2;
        max = Math.ceil(max * 2) / 2;
        if (max <= min) {
            max = min + 1;
        }
        final double lo = min, hi = max;
        int pw = w - left - right, ph = h - top - bottom;
        java.util.function.DoubleUnaryOperator X = s -> left + s / steps * pw;
        java.util.function.DoubleUnaryOperator Y = v -> top + (hi - v) / (hi - lo) * ph;
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        // grid and axes
        g.setColor(new Color(230, 230, 230));
        double tick = niceStep((hi - lo) / 8);
        for (double v = Math.ceil(lo / tick) * tick; v <= hi + 1e-9; v += tick) {
            int y = (int) Y.applyAsDouble(v);
            g.drawLine(left, y, w - right, y);
        }
        double sTick = niceStep(steps / 8.0);
        for (double s = 0; s <= steps + 1e-9; s += sTick) {
            int x = (int) X.applyAsDouble(s);
            g.drawLine(x, top, x, h - bottom);
        }
        g.setColor(Color.DARK_GRAY);
        g.drawRect(left, top, pw, ph);
        for (double v = Math.ceil(lo / tick) * tick; v <= hi + 1e-9; v += tick) {
            int y = (int) Y.applyAsDouble(v);
            g.drawString(String.format(Locale.ROOT, "%.2f", v), 8, y + 4);
        }
        for (double s = 0; s <= steps + 1e-9; s += sTick) {
            int x = (int) X.applyAsDouble(s);
            g.drawString(String.format(Locale.ROOT, "%d", (long) s), x - 10, h - bottom + 18);
        }
        g.drawString("step", left + pw / 2 - 10, h - 12);
        g.drawString("loss (nats/token)", 8, top - 10);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 14));
        g.drawString(title, left + 120, 24);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        // training loss, raw (light) and moving average (dark)
        g.setClip(left, top, pw + 1, ph + 1);
        g.setColor(new Color(160, 190, 230));
        polyline(g, log, X, Y, false, 1);
        g.setColor(new Color(20, 80, 180));
        g.setStroke(new BasicStroke(2f));
        polyline(g, log, X, Y, false, Math.max(1, log.size() / 50));
        // validation
        g.setColor(new Color(220, 80, 20));
        polyline(g, log, X, Y, true, 1);
        for (Trainer.LogRow r : log) {
            if (!Double.isNaN(r.valLoss())) {
                int x = (int) X.applyAsDouble(r.step()), y = (int) Y.applyAsDouble(r.valLoss());
                g.fillOval(x - 3, y - 3, 7, 7);
            }
        }
        g.setStroke(new BasicStroke(1f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 1f, new float[] {6f, 4f}, 0f));
        Color[] lc = {new Color(120, 120, 120), new Color(40, 140, 60), new Color(150, 60, 150)};
        int li = 0;
        for (Object[] l : lines) {
            g.setColor(lc[li++ % lc.length]);
            int y = (int) Y.applyAsDouble(((Number) l[1]).doubleValue());
            g.drawLine(left, y, w - right, y);
            g.drawString((String) l[0], w - right - 260, y - 4);
        }
        g.setClip(null);
        g.setStroke(new BasicStroke(1f));
        // legend
        int lx = w - right - 330, ly = top + 14;
        g.setColor(new Color(20, 80, 180));
        g.drawString("training loss (moving average; raw in light blue)", lx, ly);
        g.setColor(new Color(220, 80, 20));
        g.drawString("validation loss", lx, ly + 16);
        g.dispose();
        ImageIO.write(img, "png", png.toFile());
    }

    private static void polyline(Graphics2D g, List<Trainer.LogRow> log, java.util.function.DoubleUnaryOperator X,
                                 java.util.function.DoubleUnaryOperator Y, boolean validation, int window) {
        int px = -1, py = -1;
        double sum = 0;
        java.util.ArrayDeque<Double> q = new java.util.ArrayDeque<>();
        for (Trainer.LogRow r : log) {
            double v;
            if (validation) {
                if (Double.isNaN(r.valLoss())) {
                    continue;
                }
                v = r.valLoss();
            } else {
                q.add(r.loss());
                sum += r.loss();
                if (q.size() > window) {
                    sum -= q.removeFirst();
                }
                v = sum / q.size();
            }
            int x = (int) X.applyAsDouble(r.step()), y = (int) Y.applyAsDouble(v);
            if (px >= 0) {
                g.drawLine(px, py, x, y);
            }
            px = x;
            py = y;
        }
    }

    private static double niceStep(double raw) {
        double p = Math.pow(10, Math.floor(Math.log10(Math.max(raw, 1e-9))));
        double m = raw / p;
        return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
    }
}
