#include "qrcodewidget.h"

#include <QPainter>

#include <qrencode.h>

namespace {
// The standard asks for four light modules around the code so that readers find its edges.
constexpr int QuietZone = 4;
} // namespace

QrCodeWidget::QrCodeWidget(QWidget *parent)
    : QWidget(parent)
{
    setSizePolicy(QSizePolicy::Preferred, QSizePolicy::Preferred);
}

void QrCodeWidget::setText(const QString &text)
{
    if (text == m_text)
        return;
    m_text = text;
    m_modules.clear();
    m_size = 0;

    if (!text.isEmpty()) {
        const QByteArray utf8 = text.toUtf8();
        QRcode *code = QRcode_encodeString(utf8.constData(), 0, QR_ECLEVEL_M, QR_MODE_8, 1);
        if (code) {
            m_size = code->width;
            m_modules.resize(m_size * m_size);
            for (int i = 0; i < m_size * m_size; ++i)
                m_modules.setBit(i, code->data[i] & 1);
            QRcode_free(code);
        }
    }
    setToolTip(text);
    update();
}

QSize QrCodeWidget::sizeHint() const
{
    return {180, 180};
}

QSize QrCodeWidget::minimumSizeHint() const
{
    return {100, 100};
}

void QrCodeWidget::paintEvent(QPaintEvent *)
{
    QPainter painter(this);
    const int side = qMin(width(), height());
    const QRect square((width() - side) / 2, (height() - side) / 2, side, side);
    painter.fillRect(square, Qt::white);
    if (m_size == 0) {
        painter.setPen(QColor(0x6b, 0x70, 0x78));
        painter.drawText(square, Qt::AlignCenter, tr("No address"));
        return;
    }

    // Whole pixels per module keep the code sharp; the rest becomes margin.
    const int total = m_size + 2 * QuietZone;
    const int module = qMax(1, side / total);
    const int drawn = module * m_size;
    const int left = square.left() + (side - drawn) / 2;
    const int top = square.top() + (side - drawn) / 2;
    for (int y = 0; y < m_size; ++y) {
        for (int x = 0; x < m_size; ++x) {
            if (isDark(x, y))
                painter.fillRect(left + x * module, top + y * module, module, module, Qt::black);
        }
    }
}
