#include "activitychart.h"

#include <QPainter>
#include <QPainterPath>

#include <cmath>

namespace {

constexpr int MinimumSpan = 60;

const QColor ConnectionsColor(0x1a, 0x5f, 0xb4);
const QColor MessagesColor(0xc6, 0x46, 0x00);

// A round number at or above value, so that the scale reads 1, 2, 5, 10, 20, 50...
double niceCeiling(double value)
{
    if (value <= 1)
        return 1;
    const double magnitude = std::pow(10.0, std::floor(std::log10(value)));
    for (const double step : {1.0, 2.0, 5.0, 10.0}) {
        if (value <= step * magnitude)
            return step * magnitude;
    }
    return 10 * magnitude;
}

QString compact(double value)
{
    if (value >= 10'000)
        return QStringLiteral("%1k").arg(value / 1000, 0, 'f', 0);
    if (value >= 1000)
        return QStringLiteral("%1k").arg(value / 1000, 0, 'f', 1);
    return QString::number(value, 'f', 0);
}

} // namespace

ActivityChart::ActivityChart(QWidget *parent)
    : QWidget(parent)
{
    setSizePolicy(QSizePolicy::Preferred, QSizePolicy::Preferred);
}

void ActivityChart::addSample(int connections, double messagesPerSecond)
{
    m_samples.append({connections, messagesPerSecond});
    if (m_samples.size() > m_capacity)
        m_samples.remove(0, m_samples.size() - m_capacity);
    update();
}

void ActivityChart::clear()
{
    m_samples.clear();
    update();
}

QSize ActivityChart::sizeHint() const
{
    return {280, 140};
}

QSize ActivityChart::minimumSizeHint() const
{
    return {160, 90};
}

void ActivityChart::paintEvent(QPaintEvent *)
{
    QPainter painter(this);
    painter.setRenderHint(QPainter::Antialiasing);
    painter.fillRect(rect(), palette().base());

    const QFontMetrics fm = painter.fontMetrics();
    const int legendHeight = fm.height() + 4;
    const int axisWidth = fm.horizontalAdvance(QStringLiteral("00.0k")) + 6;
    const QRectF plot(axisWidth, legendHeight + 4, width() - 2 * axisWidth,
                      height() - legendHeight - fm.height() - 10);
    if (plot.width() < 10 || plot.height() < 10)
        return;

    double maxConnections = 0;
    double maxRate = 0;
    for (const Sample &s : m_samples) {
        maxConnections = qMax(maxConnections, double(s.connections));
        maxRate = qMax(maxRate, s.messagesPerSecond);
    }
    maxConnections = niceCeiling(maxConnections);
    maxRate = niceCeiling(maxRate);

    // Grid and scales: connections on the left, messages per second on the right.
    const QColor grid = palette().mid().color();
    painter.setPen(QPen(grid, 0.5));
    for (int i = 0; i <= 4; ++i) {
        const double y = plot.top() + plot.height() * i / 4.0;
        painter.drawLine(QPointF(plot.left(), y), QPointF(plot.right(), y));
    }
    painter.setPen(ConnectionsColor);
    painter.drawText(QRectF(0, plot.top() - fm.height() / 2.0, axisWidth - 4, fm.height()),
                     Qt::AlignRight | Qt::AlignVCenter, compact(maxConnections));
    painter.drawText(QRectF(0, plot.bottom() - fm.height() / 2.0, axisWidth - 4, fm.height()),
                     Qt::AlignRight | Qt::AlignVCenter, QStringLiteral("0"));
    painter.setPen(MessagesColor);
    painter.drawText(
        QRectF(plot.right() + 4, plot.top() - fm.height() / 2.0, axisWidth - 4, fm.height()),
        Qt::AlignLeft | Qt::AlignVCenter, compact(maxRate));
    painter.drawText(
        QRectF(plot.right() + 4, plot.bottom() - fm.height() / 2.0, axisWidth - 4, fm.height()),
        Qt::AlignLeft | Qt::AlignVCenter, QStringLiteral("0"));

    // The time axis grows with the samples up to the capacity, so a young chart is not a
    // sliver at the right edge.
    const int span = int(qBound(qsizetype(MinimumSpan), m_samples.size(), qsizetype(m_capacity)));

    // Legend on top, time span below.
    int x = int(plot.left());
    const auto legend = [&](const QColor &color, const QString &label) {
        painter.fillRect(QRectF(x, 4 + fm.height() / 2.0 - 2, 12, 4), color);
        painter.setPen(palette().text().color());
        painter.drawText(x + 16, 2 + fm.ascent(), label);
        x += 16 + fm.horizontalAdvance(label) + 14;
    };
    legend(ConnectionsColor, tr("connections"));
    legend(MessagesColor, tr("messages/s"));
    painter.setPen(palette().placeholderText().color());
    painter.drawText(QRectF(plot.left(), plot.bottom() + 2, plot.width(), fm.height()),
                     Qt::AlignLeft | Qt::AlignTop,
                     span < 120 ? tr("-%1 s").arg(span) : tr("-%1 min").arg(span / 60));
    painter.drawText(QRectF(plot.left(), plot.bottom() + 2, plot.width(), fm.height()),
                     Qt::AlignRight | Qt::AlignTop, tr("now"));

    if (m_samples.size() < 2)
        return;

    // The newest sample sits at the right edge; older ones scroll off to the left.
    const double step = plot.width() / (span - 1);
    const auto line = [&](auto value, double maximum, const QColor &color, bool fill) {
        QPainterPath path;
        for (int i = 0; i < m_samples.size(); ++i) {
            const double px = plot.right() - (m_samples.size() - 1 - i) * step;
            const double py = plot.bottom() - plot.height() * value(m_samples.at(i)) / maximum;
            if (i == 0)
                path.moveTo(px, py);
            else
                path.lineTo(px, py);
        }
        painter.setPen(QPen(color, 1.6));
        painter.setBrush(Qt::NoBrush);
        painter.drawPath(path);
        if (fill) {
            const double firstX = plot.right() - (m_samples.size() - 1) * step;
            path.lineTo(plot.right(), plot.bottom());
            path.lineTo(firstX, plot.bottom());
            path.closeSubpath();
            QColor area = color;
            area.setAlpha(40);
            painter.fillPath(path, area);
        }
    };
    line([](const Sample &s) { return s.messagesPerSecond; }, maxRate, MessagesColor, true);
    line([](const Sample &s) { return double(s.connections); }, maxConnections, ConnectionsColor,
         false);
}
