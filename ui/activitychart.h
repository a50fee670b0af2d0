#pragma once

#include <QList>
#include <QWidget>

// A small chart of the last few minutes: connections and messages per second, one sample a
// second, each line on its own scale.
class ActivityChart : public QWidget
{
    Q_OBJECT

public:
    explicit ActivityChart(QWidget *parent = nullptr);

    void addSample(int connections, double messagesPerSecond);
    void clear();
    int sampleCount() const { return int(m_samples.size()); }
    void setCapacity(int samples) { m_capacity = qMax(2, samples); }

    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;

protected:
    void paintEvent(QPaintEvent *event) override;

private:
    struct Sample
    {
        int connections = 0;
        double messagesPerSecond = 0;
    };

    QList<Sample> m_samples;
    int m_capacity = 180;
};
