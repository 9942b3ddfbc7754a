-- One row per school with parent figures over the school year $school_year (event-based schools): the
-- school's attributes, its context (NULL when no context file covers it), its first mediation workshop of
-- the year (NULL without one), loaded and active parent accounts, and its national IPS quintile.
WITH year AS (
    SELECT period_start, period_end FROM periods WHERE period_type = 'school_year' AND period = $school_year
),
workshops AS (
    SELECT uai, min(workshop_date) AS workshop_date, sum(participants) AS workshop_participants
    FROM mediation_workshops, year
    WHERE workshop_date BETWEEN year.period_start AND year.period_end
    GROUP BY uai
)
SELECT a.uai, s.academie_code, s.departement_code, s.level, s.secteur, s.education_prioritaire, s.rural_urban,
       s.ips, c.household_equipment_rate, c.teacher_ent_training_rate, w.workshop_date, w.workshop_participants,
       a.loaded, a.active, q.ips_quintile AS national_ips_quintile
FROM adoption_school a
JOIN schools s USING (uai)
LEFT JOIN school_context c USING (uai)
LEFT JOIN workshops w USING (uai)
LEFT JOIN school_ips_quintiles q ON q.uai = a.uai AND q.profile = 'parent'
WHERE a.period_type = 'school_year' AND a.period = $school_year AND a.profile = 'parent' AND a.source = 'events'
  AND a.loaded > 0
ORDER BY a.uai
