#pragma once

#include <QBitArray>
#include <QWidget>

// Shows a text as a QR code, so that a phone on the same network can open the join address
// without typing it.
class QrCodeWidget : public QWidget
{
    Q_OBJECT

public:
    explicit QrCodeWidget(QWidget *parent = nullptr);

    void setText(const QString &text);
    QString text() const { return m_text; }
    // Modules per side, 0 when there is no code.
    int moduleCount() const { return m_size; }
    bool isDark(int x, int y) const { return m_modules.testBit(y * m_size + x); }

    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;
    bool hasHeightForWidth() const override { return true; }
    int heightForWidth(int width) const override { return width; }

protected:
    void paintEvent(QPaintEvent *event) override;

private:
    QString m_text;
    QBitArray m_modules;
    int m_size = 0;
};
