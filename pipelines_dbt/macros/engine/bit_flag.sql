{#- The integer with only bit `code` set (2 ^ code), for the service bit masks (codes from the services seed). -#}

{% macro bit_flag(code) -%}
    {{ return(adapter.dispatch('bit_flag', 'observatoire')(code)) }}
{%- endmacro %}

{% macro duckdb__bit_flag(code) -%}
    (cast(1 as integer) << cast({{ code }} as integer))
{%- endmacro %}

{% macro spark__bit_flag(code) -%}
    shiftleft(cast(1 as int), cast({{ code }} as int))
{%- endmacro %}
